// Typed documents for the front-desk example, from the repository's schema.graphql (a file:
// codegen runs offline and sees exactly the contract the server's tests check).
// `npm run codegen` writes src/gql/; the test suite regenerates it and fails when the
// committed copy differs.
import type { CodegenConfig } from '@graphql-codegen/cli';

// The API's custom scalars, as they travel in JSON (docs/clients.md, "Scalars").
// `strictScalars` makes codegen fail on any scalar missing here instead of typing it `any`.
export const scalars = {
  // A 64-bit integer sent as a JSON number (byte counts): exact in a JS number up to 2^53 - 1.
  BigInt: 'number',
  // A calendar day, ISO 8601: "2026-11-30".
  Date: 'string',
  // An instant, ISO 8601 with the clinic's UTC offset: "2026-11-30T14:00:00-05:00".
  DateTime: 'string',
  // An exact decimal as a string ("150.00"): never parse money into a JS number.
  Decimal: 'string',
  // Any JSON value (audit details).
  JSON: 'string | number | boolean | null | { [key: string]: unknown } | unknown[]',
  // A local wall-clock time, ISO 8601: "09:30:00".
  Time: 'string',
  // A file, sent as a GraphQL multipart request; never in a response.
  Upload: { input: 'Blob', output: 'never' },
} as const;

const config: CodegenConfig = {
  // CODEGEN_SCHEMA / CODEGEN_OUT: the test suite's freshness check writes elsewhere and diffs.
  schema: process.env['CODEGEN_SCHEMA'] ?? '../../../schema.graphql',
  documents: ['src/**/*.ts', '!src/gql/**/*'],
  ignoreNoDocuments: false,
  generates: {
    [process.env['CODEGEN_OUT'] ?? './src/gql/']: {
      preset: 'client',
      presetConfig: {
        // No fragment masking: the example reads plain result types.
        fragmentMasking: false,
        // Writes src/gql/persisted-documents.json ({"<sha256>": "<text>"}), the manifest the
        // server's GRAPHQL_PERSISTED_DOCUMENTS setting reads, and embeds each hash.
        persistedDocuments: { hashAlgorithm: 'sha256' },
      },
      config: {
        scalars,
        strictScalars: true,
        // Enums as string unions ("SCHEDULED" | "DONE"…): plain JSON values, no runtime code.
        enumType: 'string-literal',
        useTypeImports: true,
        // ESM under "moduleResolution": "NodeNext" needs the .js in relative imports.
        emitLegacyCommonJSImports: false,
      },
    },
  },
};

export default config;
