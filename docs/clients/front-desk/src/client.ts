// One urql client per clinic URL. The clinic is the URL's host (clinica1.example.com, or
// clinica1.localhost in development): a token works only on the clinic that issued it.
import { Client, fetchExchange, type CombinedError, type Exchange } from '@urql/core';
import { persistedExchange } from '@urql/exchange-persisted';
import type { DocumentNode } from 'graphql';
import { localhostFetch } from './localhost.js';

export interface ClinicClientOptions {
  /** The clinic's GraphQL URL: http://clinica1.localhost:8000/graphql. */
  url: string;
  /** The bearer token from `login`; read on every request. */
  token?: () => string | null;
  /**
   * Send each operation's sha256 (codegen's persisted documents) instead of its text, as a
   * server with GRAPHQL_PERSISTED_ONLY requires. The server must have the same manifest.
   */
  persisted?: boolean;
}

/** The hash codegen embedded in each document (`persistedDocuments` in codegen.ts). */
function embeddedHash(document: DocumentNode): string {
  const meta = (document as DocumentNode & { __meta__?: { hash?: string } }).__meta__;
  if (!meta?.hash) throw new Error('document without an embedded hash: run `npm run codegen`');
  return meta.hash;
}

export function clinicClient({ url, token, persisted = false }: ClinicClientOptions): Client {
  const exchanges: Exchange[] = [];
  if (persisted) {
    exchanges.push(
      persistedExchange({
        // Never fall back to sending the text: a persisted-only server refuses it anyway.
        enforcePersistedQueries: true,
        enableForMutation: true,
        // Queries as GET would also work; POST keeps every request alike.
        preferGetForPersistedQueries: false,
        generateHash: async (_query, document) => embeddedHash(document),
      }),
    );
  }
  exchanges.push(fetchExchange);
  return new Client({
    url,
    exchanges,
    // A front desk wants the agenda as it is now, never a cached copy.
    requestPolicy: 'network-only',
    preferGetMethod: false,
    fetch: localhostFetch,
    fetchOptions: () => {
      const current = token?.();
      return { headers: current ? { authorization: `Bearer ${current}` } : {} };
    },
  });
}

/** The codes of a top-level error (`errors[].extensions.code`): what a client branches on. */
export function errorCodes(error: CombinedError | undefined): string[] {
  return (error?.graphQLErrors ?? []).map((e) => String(e.extensions['code'] ?? 'NO_CODE'));
}
