import { Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import {
  DomainName,
  HttpApi,
  HttpMethod,
  HttpRoute,
  HttpRouteKey,
  HttpStage,
  LogGroupLogDestination,
  PayloadFormatVersion,
  SecurityPolicy,
  type ThrottleSettings,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { routes, type RouteDefinition, type RouteName } from '../resources.ts';
import type { BillingFunction } from './billing-function.ts';

/** The functions behind the HTTP API, by the `functionId` the routes name. */
export type EdgeFunctionId = RouteDefinition['functionId'];

/**
 * One JSON line per request. Only `$context` variables that cannot carry a secret: the route
 * template (`POST /webhooks/payple/{secret}`), never the request path, which holds the webhook's
 * path secret and the checkout session id. No query string (the result pages' `status` is all it
 * would show, but nothing guarantees that), no header, no body.
 */
export const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTimeEpoch',
  sourceIp: '$context.identity.sourceIp',
  method: '$context.httpMethod',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatencyMs: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationLatencyMs: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  error: '$context.error.message',
} as const;

/** Why each route has no API Gateway authorizer (cdk-nag AwsSolutions-APIG4). */
const NO_AUTHORIZER_BECAUSE: Record<EdgeFunctionId, string> = {
  checkout:
    'Public pages and the checkout start for anonymous customers (there is no login to authorize against); a checkout only records a single-use session and asks Payple for a window, nothing is charged or created.',
  return:
    "The customer's browser posts the Payple window's result here without credentials; nothing it sends is trusted: the single-use, 256-bit random session and Payple's own answers (PUSERINFO, lookup, confirm) decide.",
  webhook:
    'Payple calls the webhook without credentials and signs nothing: the 64-character random path secret (constant-time compare in the function), our cst_id and a match with a payment we created authenticate it (functions/webhook/README.md).',
};

export interface EdgeApiProps {
  /** The API's name, e.g. `PaypleBilling-prod`. */
  readonly apiName: string;
  readonly throttle: Required<ThrottleSettings>;
  readonly logRetention: RetentionDays;
  /** A custom domain to map to the `$default` stage (a regional endpoint, TLS 1.2). */
  readonly customDomain?: { readonly domainName: string; readonly certificateArn: string };
}

/**
 * The one HTTP API of the browser flow and Payple's webhook: its `$default` stage (auto-deployed,
 * default route throttling, JSON access logs to a log group of its own) and, once the functions
 * exist, the routes of `lib/resources.ts`, each a payload 2.0 Lambda proxy integration. No CORS:
 * the pages the checkout function serves call it on their own origin. Requests matching no route
 * get API Gateway's own 404 without invoking anything.
 *
 * The API exists before its routes so the functions can be given its URL (`apiEndpoint`): a
 * function depends on the API resource, the routes and integrations depend on the functions, and
 * nothing depends back.
 */
export class EdgeApi extends Construct {
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  readonly customDomain?: DomainName;
  readonly routes: Partial<Record<RouteName, HttpRoute>> = {};

  constructor(scope: Construct, id: string, props: EdgeApiProps) {
    super(scope, id);
    this.httpApi = new HttpApi(this, 'HttpApi', {
      apiName: props.apiName,
      description: 'Payple billing: subscribe page, checkout, payment return, Payple webhook',
      createDefaultStage: false,
    });
    this.accessLogs = new LogGroup(this, 'AccessLogs', { retention: props.logRetention });
    if (props.customDomain) {
      this.customDomain = new DomainName(this, 'CustomDomain', {
        domainName: props.customDomain.domainName,
        certificate: Certificate.fromCertificateArn(this, 'Certificate', props.customDomain.certificateArn),
        securityPolicy: SecurityPolicy.TLS_1_2,
      });
    }
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      ...(this.customDomain ? { domainMapping: { domainName: this.customDomain } } : {}),
      throttle: props.throttle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
  }

  /** Adds every route of `lib/resources.ts` to the function its `functionId` names. */
  serve(functions: Readonly<Record<EdgeFunctionId, BillingFunction>>): void {
    const integrations = new Map<EdgeFunctionId, HttpLambdaIntegration>();
    const integrationOf = (functionId: EdgeFunctionId) => {
      let integration = integrations.get(functionId);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${functionId}Integration`, functions[functionId].function, {
          payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
        });
        integrations.set(functionId, integration);
      }
      return integration;
    };
    for (const [name, route] of Object.entries(routes) as [RouteName, RouteDefinition][]) {
      const httpRoute = new HttpRoute(this, name, {
        httpApi: this.httpApi,
        routeKey: HttpRouteKey.with(route.path, HttpMethod[route.method]),
        integration: integrationOf(route.functionId),
      });
      Validations.of(httpRoute).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: NO_AUTHORIZER_BECAUSE[route.functionId],
      });
      this.routes[name] = httpRoute;
    }
  }
}
