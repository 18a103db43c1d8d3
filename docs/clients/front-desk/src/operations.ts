// The front desk's operations. Each `graphql(...)` call is typed by codegen (src/gql/): its
// variables and its result come from schema.graphql, scalars from codegen.ts.
import { graphql } from './gql/index.js';

export const LoginDocument = graphql(`
  mutation Login($email: String!, $password: String!) {
    login(email: $email, password: $password) {
      __typename
      ... on AuthToken {
        token
        expiresAt
        user {
          email
          role
        }
      }
      ... on OperationInfo {
        messages {
          code
          field
          message
        }
      }
    }
  }
`);

export const LogoutDocument = graphql(`
  mutation Logout {
    logout
  }
`);

export const WhoAmIDocument = graphql(`
  query WhoAmI {
    me {
      email
      role
    }
    currentClinic {
      name
      timezone
    }
  }
`);

export const SearchPatientsDocument = graphql(`
  query SearchPatients($search: String!, $first: Int!, $after: String) {
    patients(search: $search, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        cursor
        node {
          id
          fullName
          documentNumber
        }
      }
    }
  }
`);

export const ResourcesDocument = graphql(`
  query Resources {
    professionals(activeOnly: true, first: 10) {
      edges {
        node {
          id
          fullName
        }
      }
    }
    chairs(activeOnly: true, first: 10) {
      edges {
        node {
          id
          name
        }
      }
    }
  }
`);

export const AvailabilityDocument = graphql(`
  query Availability($professionalId: ID!, $date: Date!, $chairId: ID) {
    availability(professionalId: $professionalId, date: $date, chairId: $chairId) {
      startsAt
      endsAt
    }
  }
`);

export const ScheduleAppointmentDocument = graphql(`
  mutation ScheduleAppointment($input: ScheduleAppointmentInput!) {
    scheduleAppointment(input: $input) {
      __typename
      ... on Appointment {
        id
        startsAt
        endsAt
        status
      }
      ... on OperationInfo {
        messages {
          code
          field
          message
        }
      }
    }
  }
`);

export const AgendaDocument = graphql(`
  query Agenda($from: DateTime!, $to: DateTime!, $first: Int!) {
    appointments(from: $from, to: $to, first: $first) {
      totalCount
      edges {
        node {
          id
          startsAt
          endsAt
          status
          patient {
            fullName
          }
          professional {
            fullName
          }
          chair {
            name
          }
        }
      }
    }
  }
`);
