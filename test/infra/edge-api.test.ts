import { beforeAll, describe, expect, test } from 'vitest';
import { ACCESS_LOG_FIELDS } from '../../lib/constructs/edge-api.ts';
import { routes } from '../../lib/resources.ts';
import { deployed, synthesize, TEST_CONFIG, type Deployed, SYNTH_TIMEOUT_MS } from '../support/synth.ts';
import { refs, resourcesOf, type Refs } from './template-refs.ts';

let app: Deployed;
let ref: Refs;

beforeAll(() => {
  app = deployed();
  ref = refs(app);
}, SYNTH_TIMEOUT_MS);

const onlyOne = (type: string) => {
  const all = resourcesOf(app.stateless, type);
  expect(all, type).toHaveLength(1);
  return all[0]!;
};
const stage = () => onlyOne('AWS::ApiGatewayV2::Stage').Properties;

describe('the HTTP API serves exactly the routes of lib/resources.ts', () => {
  test('each route (method and path) goes to the function its definition names', () => {
    const integrations = new Map(
      resourcesOf(app.stateless, 'AWS::ApiGatewayV2::Integration').map((i) => [i.logicalId, i.Properties]),
    );
    const served = resourcesOf(app.stateless, 'AWS::ApiGatewayV2::Route').map((route) => {
      const target = ref.name(route.Properties.Target);
      const integration = integrations.get(
        (route.Properties.Target as { 'Fn::Join': [string, [string, { Ref: string }]] })['Fn::Join'][1][1]
          .Ref,
      );
      expect(target).toMatch(/^integrations\//);
      return `${String(route.Properties.RouteKey)} -> ${ref.name(integration?.IntegrationUri)}`;
    });

    expect(served.sort()).toEqual(
      Object.values(routes)
        .map((route) => `${route.method} ${route.path} -> function:${route.functionId}.Arn`)
        .sort(),
    );
  });

  test('every integration is a Lambda proxy with payload format 2.0', () => {
    const integrations = resourcesOf(app.stateless, 'AWS::ApiGatewayV2::Integration');

    expect(integrations.map((i) => ref.name(i.Properties.IntegrationUri)).sort()).toEqual(
      ['function:checkout.Arn', 'function:return.Arn', 'function:webhook.Arn'].sort(),
    );
    for (const integration of integrations) {
      expect(integration.Properties).toMatchObject({
        IntegrationType: 'AWS_PROXY',
        PayloadFormatVersion: '2.0',
      });
    }
  });

  test('one HTTP API, no CORS (the pages call it on their own origin), no catch-all route', () => {
    const api = onlyOne('AWS::ApiGatewayV2::Api').Properties;

    expect(api.ProtocolType).toBe('HTTP');
    expect(api).not.toHaveProperty('CorsConfiguration');
    expect(api.Name).toBe('PaypleBilling-dev');
    expect(
      resourcesOf(app.stateless, 'AWS::ApiGatewayV2::Route').map((r) => r.Properties.RouteKey),
    ).not.toContain('$default');
  });

  test('the $default stage deploys itself and throttles every route to the configured rate and burst', () => {
    const props = stage();

    expect(ref.name(props.ApiId)).toBe('api');
    expect(props.StageName).toBe('$default');
    expect(props.AutoDeploy).toBe(true);
    expect(props.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 });
  });
});

describe('access logs', () => {
  const accessLogs = () =>
    stage().AccessLogSettings as {
      DestinationArn: unknown;
      Format: string;
    };

  test('go to their own log group, kept for the configured days', () => {
    const logGroupId = ref.logicalId(app.built.stateless.api.accessLogs);

    expect(ref.name(accessLogs().DestinationArn)).toBe('logGroup:apiAccess.Arn');
    expect(app.stateless.Resources[logGroupId]!.Properties!.RetentionInDays).toBe(
      TEST_CONFIG.logRetentionDays,
    );
  });

  test('are one JSON object per request with the route template, never the path that carries the webhook secret', () => {
    const format = accessLogs().Format;
    const variables = [...format.matchAll(/\$context\.[\w.]+/g)].map((m) => m[0]);

    expect(JSON.parse(format)).toEqual(ACCESS_LOG_FIELDS);
    expect(variables).toContain('$context.routeKey');
    expect(variables).toContain('$context.requestId');
    // The request path holds the webhook's path secret and the checkout session id; the route key
    // holds only the template (`POST /webhooks/payple/{secret}`).
    for (const variable of variables) {
      expect(variable, variable).not.toMatch(/path|querystring|header|body|authorizer/i);
    }
    expect(format).not.toMatch(/\$input|\$request|\$stageVariables/);
    expect(variables.sort()).toEqual(
      [
        '$context.requestId',
        '$context.requestTimeEpoch',
        '$context.identity.sourceIp',
        '$context.httpMethod',
        '$context.routeKey',
        '$context.status',
        '$context.protocol',
        '$context.responseLength',
        '$context.responseLatency',
        '$context.integrationStatus',
        '$context.integrationLatency',
        '$context.integrationErrorMessage',
        '$context.error.message',
      ].sort(),
    );
  });
});

describe('outputs', () => {
  const output = (name: string) => ref.name(app.stateless.Outputs?.[name]?.Value);

  test("name the API's URL, and the webhook URL with {secret} left for the operator to fill in", () => {
    expect(output('ApiUrl')).toBe('api.ApiEndpoint');
    expect(output('PublicBaseUrl')).toBe('api.ApiEndpoint');
    expect(output('SubscribePageUrl')).toBe('api.ApiEndpoint/subscribe');
    expect(output('WebhookUrlTemplate')).toBe('api.ApiEndpoint/webhooks/payple/{secret}');
    expect(output('WebhookSecretCommand')).toBe(
      'aws secretsmanager get-secret-value --region {AWS::Region} --secret-id secret:webhookPathSecret --query SecretString --output text',
    );
  });

  test('no template resolves a secret value (no dynamic reference to Secrets Manager)', () => {
    expect(JSON.stringify(app.stateless)).not.toContain('{{resolve:secretsmanager');
    expect(JSON.stringify(app.stateful)).not.toContain('{{resolve:secretsmanager');
  });
});

describe('a custom public URL', () => {
  test('without one, the API has no custom domain and browsers are sent to its generated URL', () => {
    expect(resourcesOf(app.stateless, 'AWS::ApiGatewayV2::DomainName')).toEqual([]);
    expect(resourcesOf(app.stateless, 'AWS::ApiGatewayV2::ApiMapping')).toEqual([]);
  });

  test(
    'reaches both browser functions and the outputs, and a URL on another origin than the Referer warns',
    () => {
      const publicBaseUrl = 'https://pay.example.com/billing';
      const seen = synthesize(
        (built, templateOf) => {
          const stateful = templateOf(built.stateful);
          const stateless = templateOf(built.stateless);
          const names = refs({ built, stateful, stateless, bundleOf: () => ({ files: {} }) });
          const variable = (fn: 'checkout' | 'return', name: string) =>
            (
              stateless.Resources[names.logicalId(built.stateless.functions[fn].function)]!.Properties!
                .Environment as { Variables: Record<string, unknown> }
            ).Variables[name];
          const warnings = built.stateless.node.metadata
            .filter((entry) => entry.type === 'aws:cdk:warning')
            .map((entry) => String(entry.data));
          return {
            checkout: variable('checkout', 'PUBLIC_BASE_URL'),
            return: variable('return', 'PUBLIC_BASE_URL'),
            webhookUrl: names.name(stateless.Outputs?.WebhookUrlTemplate?.Value),
            apiUrl: names.name(stateless.Outputs?.ApiUrl?.Value),
            domains: resourcesOf(stateless, 'AWS::ApiGatewayV2::DomainName'),
            warnings,
          };
        },
        undefined,
        { config: { ...TEST_CONFIG, checkout: { publicBaseUrl } } },
      );

      expect(seen).toMatchObject({
        checkout: publicBaseUrl,
        domains: [],
        return: publicBaseUrl,
        webhookUrl: `${publicBaseUrl}/webhooks/payple/{secret}`,
        apiUrl: 'api.ApiEndpoint',
      });
      expect(seen.warnings.join('\n')).toContain(
        `checkout.publicBaseUrl (https://pay.example.com) is not payple.referer (${TEST_CONFIG.payple.referer})`,
      );
    },
    SYNTH_TIMEOUT_MS,
  );

  test(
    "with api.customDomain the stack maps the URL's host to the $default stage with the certificate",
    () => {
      const certificateArn =
        'arn:aws:acm:ap-northeast-2:123456789012:certificate/0f4bd9a2-6d1e-4c37-9b1e-2a7c1d5e8f90';
      const seen = synthesize(
        (built, templateOf) => {
          const stateful = templateOf(built.stateful);
          const stateless = templateOf(built.stateless);
          const names = refs({ built, stateful, stateless, bundleOf: () => ({ files: {} }) });
          const domains = resourcesOf(stateless, 'AWS::ApiGatewayV2::DomainName');
          const mappings = resourcesOf(stateless, 'AWS::ApiGatewayV2::ApiMapping');
          return {
            domains: domains.map((d) => d.Properties),
            mappings: mappings.map((m) => ({
              api: names.name(m.Properties.ApiId),
              stage: names.name(m.Properties.Stage),
              domain: names.name(m.Properties.DomainName),
            })),
            target: stateless.Outputs?.CustomDomainTarget?.Value,
            warnings: built.stateless.node.metadata.filter((entry) => entry.type === 'aws:cdk:warning'),
          };
        },
        undefined,
        {
          config: {
            ...TEST_CONFIG,
            api: { customDomain: { certificateArn } },
            checkout: { publicBaseUrl: TEST_CONFIG.payple.referer },
          },
        },
      );

      expect(seen.domains).toEqual([
        {
          DomainName: 'shop.example.com',
          DomainNameConfigurations: [
            { CertificateArn: certificateArn, EndpointType: 'REGIONAL', SecurityPolicy: 'TLS_1_2' },
          ],
        },
      ]);
      expect(seen.mappings).toHaveLength(1);
      expect(seen.mappings[0]).toMatchObject({ api: 'api' });
      expect(seen.target).toBeDefined();
      expect(seen.warnings).toEqual([]);
    },
    SYNTH_TIMEOUT_MS,
  );
});
