/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  mutation Login($email: String!, $password: String!) {\n    login(email: $email, password: $password) {\n      __typename\n      ... on AuthToken {\n        token\n        expiresAt\n        user {\n          email\n          role\n        }\n      }\n      ... on OperationInfo {\n        messages {\n          code\n          field\n          message\n        }\n      }\n    }\n  }\n": typeof types.LoginDocument,
    "\n  mutation Logout {\n    logout\n  }\n": typeof types.LogoutDocument,
    "\n  query WhoAmI {\n    me {\n      email\n      role\n    }\n    currentClinic {\n      name\n      timezone\n    }\n  }\n": typeof types.WhoAmIDocument,
    "\n  query SearchPatients($search: String!, $first: Int!, $after: String) {\n    patients(search: $search, first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      edges {\n        cursor\n        node {\n          id\n          fullName\n          documentNumber\n        }\n      }\n    }\n  }\n": typeof types.SearchPatientsDocument,
    "\n  query Resources {\n    professionals(activeOnly: true, first: 10) {\n      edges {\n        node {\n          id\n          fullName\n        }\n      }\n    }\n    chairs(activeOnly: true, first: 10) {\n      edges {\n        node {\n          id\n          name\n        }\n      }\n    }\n  }\n": typeof types.ResourcesDocument,
    "\n  query Availability($professionalId: ID!, $date: Date!, $chairId: ID) {\n    availability(professionalId: $professionalId, date: $date, chairId: $chairId) {\n      startsAt\n      endsAt\n    }\n  }\n": typeof types.AvailabilityDocument,
    "\n  mutation ScheduleAppointment($input: ScheduleAppointmentInput!) {\n    scheduleAppointment(input: $input) {\n      __typename\n      ... on Appointment {\n        id\n        startsAt\n        endsAt\n        status\n      }\n      ... on OperationInfo {\n        messages {\n          code\n          field\n          message\n        }\n      }\n    }\n  }\n": typeof types.ScheduleAppointmentDocument,
    "\n  query Agenda($from: DateTime!, $to: DateTime!, $first: Int!) {\n    appointments(from: $from, to: $to, first: $first) {\n      totalCount\n      edges {\n        node {\n          id\n          startsAt\n          endsAt\n          status\n          patient {\n            fullName\n          }\n          professional {\n            fullName\n          }\n          chair {\n            name\n          }\n        }\n      }\n    }\n  }\n": typeof types.AgendaDocument,
};
const documents: Documents = {
    "\n  mutation Login($email: String!, $password: String!) {\n    login(email: $email, password: $password) {\n      __typename\n      ... on AuthToken {\n        token\n        expiresAt\n        user {\n          email\n          role\n        }\n      }\n      ... on OperationInfo {\n        messages {\n          code\n          field\n          message\n        }\n      }\n    }\n  }\n": types.LoginDocument,
    "\n  mutation Logout {\n    logout\n  }\n": types.LogoutDocument,
    "\n  query WhoAmI {\n    me {\n      email\n      role\n    }\n    currentClinic {\n      name\n      timezone\n    }\n  }\n": types.WhoAmIDocument,
    "\n  query SearchPatients($search: String!, $first: Int!, $after: String) {\n    patients(search: $search, first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      edges {\n        cursor\n        node {\n          id\n          fullName\n          documentNumber\n        }\n      }\n    }\n  }\n": types.SearchPatientsDocument,
    "\n  query Resources {\n    professionals(activeOnly: true, first: 10) {\n      edges {\n        node {\n          id\n          fullName\n        }\n      }\n    }\n    chairs(activeOnly: true, first: 10) {\n      edges {\n        node {\n          id\n          name\n        }\n      }\n    }\n  }\n": types.ResourcesDocument,
    "\n  query Availability($professionalId: ID!, $date: Date!, $chairId: ID) {\n    availability(professionalId: $professionalId, date: $date, chairId: $chairId) {\n      startsAt\n      endsAt\n    }\n  }\n": types.AvailabilityDocument,
    "\n  mutation ScheduleAppointment($input: ScheduleAppointmentInput!) {\n    scheduleAppointment(input: $input) {\n      __typename\n      ... on Appointment {\n        id\n        startsAt\n        endsAt\n        status\n      }\n      ... on OperationInfo {\n        messages {\n          code\n          field\n          message\n        }\n      }\n    }\n  }\n": types.ScheduleAppointmentDocument,
    "\n  query Agenda($from: DateTime!, $to: DateTime!, $first: Int!) {\n    appointments(from: $from, to: $to, first: $first) {\n      totalCount\n      edges {\n        node {\n          id\n          startsAt\n          endsAt\n          status\n          patient {\n            fullName\n          }\n          professional {\n            fullName\n          }\n          chair {\n            name\n          }\n        }\n      }\n    }\n  }\n": types.AgendaDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Login($email: String!, $password: String!) {\n    login(email: $email, password: $password) {\n      __typename\n      ... on AuthToken {\n        token\n        expiresAt\n        user {\n          email\n          role\n        }\n      }\n      ... on OperationInfo {\n        messages {\n          code\n          field\n          message\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation Login($email: String!, $password: String!) {\n    login(email: $email, password: $password) {\n      __typename\n      ... on AuthToken {\n        token\n        expiresAt\n        user {\n          email\n          role\n        }\n      }\n      ... on OperationInfo {\n        messages {\n          code\n          field\n          message\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Logout {\n    logout\n  }\n"): (typeof documents)["\n  mutation Logout {\n    logout\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query WhoAmI {\n    me {\n      email\n      role\n    }\n    currentClinic {\n      name\n      timezone\n    }\n  }\n"): (typeof documents)["\n  query WhoAmI {\n    me {\n      email\n      role\n    }\n    currentClinic {\n      name\n      timezone\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SearchPatients($search: String!, $first: Int!, $after: String) {\n    patients(search: $search, first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      edges {\n        cursor\n        node {\n          id\n          fullName\n          documentNumber\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query SearchPatients($search: String!, $first: Int!, $after: String) {\n    patients(search: $search, first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      edges {\n        cursor\n        node {\n          id\n          fullName\n          documentNumber\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Resources {\n    professionals(activeOnly: true, first: 10) {\n      edges {\n        node {\n          id\n          fullName\n        }\n      }\n    }\n    chairs(activeOnly: true, first: 10) {\n      edges {\n        node {\n          id\n          name\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Resources {\n    professionals(activeOnly: true, first: 10) {\n      edges {\n        node {\n          id\n          fullName\n        }\n      }\n    }\n    chairs(activeOnly: true, first: 10) {\n      edges {\n        node {\n          id\n          name\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Availability($professionalId: ID!, $date: Date!, $chairId: ID) {\n    availability(professionalId: $professionalId, date: $date, chairId: $chairId) {\n      startsAt\n      endsAt\n    }\n  }\n"): (typeof documents)["\n  query Availability($professionalId: ID!, $date: Date!, $chairId: ID) {\n    availability(professionalId: $professionalId, date: $date, chairId: $chairId) {\n      startsAt\n      endsAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ScheduleAppointment($input: ScheduleAppointmentInput!) {\n    scheduleAppointment(input: $input) {\n      __typename\n      ... on Appointment {\n        id\n        startsAt\n        endsAt\n        status\n      }\n      ... on OperationInfo {\n        messages {\n          code\n          field\n          message\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ScheduleAppointment($input: ScheduleAppointmentInput!) {\n    scheduleAppointment(input: $input) {\n      __typename\n      ... on Appointment {\n        id\n        startsAt\n        endsAt\n        status\n      }\n      ... on OperationInfo {\n        messages {\n          code\n          field\n          message\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Agenda($from: DateTime!, $to: DateTime!, $first: Int!) {\n    appointments(from: $from, to: $to, first: $first) {\n      totalCount\n      edges {\n        node {\n          id\n          startsAt\n          endsAt\n          status\n          patient {\n            fullName\n          }\n          professional {\n            fullName\n          }\n          chair {\n            name\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Agenda($from: DateTime!, $to: DateTime!, $first: Int!) {\n    appointments(from: $from, to: $to, first: $first) {\n      totalCount\n      edges {\n        node {\n          id\n          startsAt\n          endsAt\n          status\n          patient {\n            fullName\n          }\n          professional {\n            fullName\n          }\n          chair {\n            name\n          }\n        }\n      }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;