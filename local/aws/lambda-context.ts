/**
 * A Lambda `Context` for handlers run by the local stack: the same fields Lambda passes, with a
 * deadline so `getRemainingTimeInMillis()` counts down like the real one.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

export interface LocalContextOptions {
  readonly functionName: string;
  /** The function's configured timeout. */
  readonly timeoutMs: number;
  readonly memoryLimitInMB?: number;
  readonly region?: string;
}

export function createLambdaContext(options: LocalContextOptions): Context {
  const region = options.region ?? process.env.AWS_REGION ?? 'ap-northeast-2';
  const deadline = Date.now() + options.timeoutMs;
  const fail = (message: string) => {
    throw new Error(`context.done/fail/succeed are not supported locally: ${message}`);
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: options.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${options.functionName}`,
    memoryLimitInMB: String(options.memoryLimitInMB ?? 512),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${options.functionName}`,
    logStreamName: `local/${options.functionName}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    // The Context type still declares the callback-era methods; Lambda's Node.js runtime does too.
    /* eslint-disable @typescript-eslint/no-deprecated */
    done: () => fail('done'),
    fail: () => fail('fail'),
    succeed: () => fail('succeed'),
    /* eslint-enable @typescript-eslint/no-deprecated */
  };
}
