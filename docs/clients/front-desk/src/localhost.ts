// `*.localhost` without /etc/hosts. Browsers and curl resolve any `*.localhost` name to
// loopback (RFC 6761); Node's resolver (getaddrinfo on a stock Linux) does not:
// `getaddrinfo ENOTFOUND clinica1.localhost`. Setting the Host header by hand does not help
// either, because fetch treats `host` as a forbidden header and drops it. So the client keeps
// the clinic's real URL (the Host header, the token's clinic and the TLS name all follow from
// it) and only the *connection* is pointed at 127.0.0.1 by an undici Agent's lookup.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { Agent, fetch as undiciFetch } from 'undici';

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

export function isLocalhostName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

/** dns.lookup, except that `localhost` and `*.localhost` are 127.0.0.1. */
export function localhostLookup(
  hostname: string,
  options: LookupOptions,
  callback: LookupCallback,
): void {
  if (!isLocalhostName(hostname)) {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error || options.all) callback(error, addresses);
      else callback(null, addresses[0]?.address ?? '', addresses[0]?.family ?? 4);
    });
    return;
  }
  // net.connect asks for every address (autoSelectFamily, Node 20's default) or for one.
  if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
}

/** The dispatcher every request of the example goes through. */
export const localhostAgent = new Agent({ connect: { lookup: localhostLookup } });

/** A fetch for GraphQL clients (urql's `fetch` option, graphql-request's `fetch`). */
export const localhostFetch = ((input: Parameters<typeof undiciFetch>[0], init?: Parameters<typeof undiciFetch>[1]) =>
  undiciFetch(input, { ...init, dispatcher: localhostAgent })) as unknown as typeof globalThis.fetch;
