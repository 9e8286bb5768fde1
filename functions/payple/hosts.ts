/**
 * Payple's hosts, and the allow-list for URLs that receive credentials. Payple returns the URLs to
 * post to (`return_url` from auth, `PCD_PAY_COFURL` from the window); both carry keys, so the client
 * only ever sends to Payple's own hosts or to the host it was configured with (the sandbox).
 */

/** Payple's hosts. The sandbox is configured with its own base URL instead. */
export const paypleHosts = {
  /** Payple's test server (shared test partner `test`; nothing is really charged). */
  test: 'https://democpay.payple.kr',
  /** Live: real money. */
  live: 'https://cpay.payple.kr',
} as const;

function parse(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

/** `https://<sub>.payple.kr` on the default port, with no credentials in the URL. */
export function isPaypleUrl(url: URL): boolean {
  return (
    url.protocol === 'https:' &&
    url.hostname.endsWith('.payple.kr') &&
    url.port === '' &&
    url.username === '' &&
    url.password === ''
  );
}

/**
 * Whether `url` may receive a request carrying credentials: a Payple host, or the same origin as the
 * configured base URL (the sandbox, or Payple's host itself).
 */
export function isAllowedTarget(url: string, configuredHost: string): boolean {
  const target = parse(url);
  const configured = parse(configuredHost);
  if (target === undefined || configured === undefined) return false;
  if (target.username !== '' || target.password !== '') return false;
  return isPaypleUrl(target) || target.origin === configured.origin;
}

/** The configured base URL as a URL, or `undefined` when it is not an http(s) URL. */
export function parseBaseUrl(host: string): URL | undefined {
  const url = parse(host);
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) return undefined;
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') return undefined;
  return url;
}

/** `{base}/php/auth.php`, keeping a path prefix the base URL may have. */
export function authUrl(base: URL): string {
  return `${base.origin}${base.pathname.replace(/\/+$/, '')}/php/auth.php`;
}
