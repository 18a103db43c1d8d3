// The front desk's day, as a React or mobile app would run it, against a real server:
// sign in as reception, find a patient, ask for a free slot, book it, read the day's agenda,
// show that this clinic's token is refused by another clinic, sign out.
// It prints each step and exits 1 on any answer it did not expect.
//
//   FRONT_DESK_API=http://clinica1.localhost:8000/graphql \
//   FRONT_DESK_OTHER_API=http://clinica2.localhost:8000/graphql \
//   FRONT_DESK_EMAIL=reception@clinica1.localhost FRONT_DESK_PASSWORD='demo1234!' \
//   FRONT_DESK_SEARCH=perez npm start            # add --persisted for persisted documents
import type { Client } from '@urql/core';
import { clinicClient, errorCodes } from './client.js';
import {
  AgendaDocument,
  AvailabilityDocument,
  LoginDocument,
  LogoutDocument,
  ResourcesDocument,
  ScheduleAppointmentDocument,
  SearchPatientsDocument,
  WhoAmIDocument,
} from './operations.js';

class Unexpected extends Error {}

function say(line: string): void {
  console.log(`[front-desk] ${line}`);
}

function setting(name: string, fallback: string): string {
  const value = process.env[name];
  return value === undefined || value === '' ? fallback : value;
}

const config = {
  api: setting('FRONT_DESK_API', 'http://clinica1.localhost:8000/graphql'),
  otherApi: setting('FRONT_DESK_OTHER_API', 'http://clinica2.localhost:8000/graphql'),
  email: setting('FRONT_DESK_EMAIL', 'reception@clinica1.localhost'),
  password: setting('FRONT_DESK_PASSWORD', 'demo1234!'),
  search: setting('FRONT_DESK_SEARCH', 'a'),
  persisted: process.argv.includes('--persisted') || setting('FRONT_DESK_PERSISTED', '') === '1',
};

/** The local calendar day of `instant` in `timeZone`, as the API's Date: "2026-11-30". */
function localDate(instant: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, dateStyle: 'short' }).format(instant);
}

/** The UTC offset a DateTime carries ("-05:00"): the clinic's, by the API's rule. */
function offsetOf(dateTime: string): string {
  const match = /([+-]\d\d:\d\d|Z)$/.exec(dateTime);
  if (!match?.[1]) throw new Unexpected(`a DateTime without an offset: ${dateTime}`);
  return match[1];
}

async function main(): Promise<void> {
  let token: string | null = null;
  const clinic: Client = clinicClient({ url: config.api, token: () => token, persisted: config.persisted });
  say(`${config.persisted ? 'persisted documents (sha256 only)' : 'full documents'} against ${config.api}`);

  // 1. Sign in. Wrong credentials are not an exception: they are the OperationInfo member.
  const login = await clinic.mutation(LoginDocument, { email: config.email, password: config.password });
  if (login.error) throw new Unexpected(`login failed: ${login.error.message}`);
  const signedIn = login.data?.login;
  if (signedIn?.__typename !== 'AuthToken') {
    const codes = signedIn?.__typename === 'OperationInfo' ? signedIn.messages.map((m) => m.code) : [];
    throw new Unexpected(`login refused: ${codes.join(', ')}`);
  }
  token = signedIn.token;
  say(`signed in as ${signedIn.user.email} (${signedIn.user.role ?? 'no role'}), token expires ${signedIn.expiresAt}`);

  const whoAmI = await clinic.query(WhoAmIDocument, {});
  if (!whoAmI.data) throw new Unexpected(`me: ${whoAmI.error?.message}`);
  const timeZone = whoAmI.data.currentClinic.timezone;
  say(`clinic: ${whoAmI.data.currentClinic.name} (${timeZone})`);

  // 2. Find a patient: a Relay connection, walked with `after` while hasNextPage.
  const patients = await clinic.query(SearchPatientsDocument, { search: config.search, first: 5 });
  const connection = patients.data?.patients;
  if (!connection) throw new Unexpected(`patients: ${patients.error?.message}`);
  const patient = connection.edges[0]?.node;
  if (!patient) throw new Unexpected(`no patient matches "${config.search}"`);
  say(`patients matching "${config.search}": ${connection.totalCount}; first: ${patient.fullName} (${patient.documentNumber})`);

  // 3. Who and where.
  const resources = await clinic.query(ResourcesDocument, {});
  const professional = resources.data?.professionals.edges[0]?.node;
  const chair = resources.data?.chairs.edges[0]?.node;
  if (!professional || !chair) throw new Unexpected(`no active professional or chair: ${resources.error?.message}`);
  say(`professional: ${professional.fullName}; chair: ${chair.name}`);

  // 4. The first free slot from tomorrow on (clinic-local days).
  let slot: { startsAt: string; endsAt: string } | undefined;
  let day = '';
  for (let ahead = 1; ahead <= 14 && !slot; ahead += 1) {
    day = localDate(new Date(Date.now() + ahead * 86_400_000), timeZone);
    const availability = await clinic.query(AvailabilityDocument, {
      professionalId: professional.id,
      date: day,
      chairId: chair.id,
    });
    if (!availability.data) throw new Unexpected(`availability: ${availability.error?.message}`);
    slot = availability.data.availability[0];
    say(`availability on ${day}: ${availability.data.availability.length} free slot(s)`);
  }
  if (!slot) throw new Unexpected('no free slot in the next two weeks');

  // 5. Book it. A business refusal (overlap, closed day) comes back as OperationInfo.
  const booking = await clinic.mutation(ScheduleAppointmentDocument, {
    input: {
      patientId: patient.id,
      professionalId: professional.id,
      chairId: chair.id,
      startsAt: slot.startsAt,
      endsAt: slot.endsAt,
      reason: 'Control (front-desk example)',
    },
  });
  const booked = booking.data?.scheduleAppointment;
  if (booked?.__typename !== 'Appointment') {
    const codes = booked?.__typename === 'OperationInfo' ? booked.messages.map((m) => m.code) : errorCodes(booking.error);
    throw new Unexpected(`booking refused: ${codes.join(', ')}`);
  }
  say(`booked ${booked.startsAt} to ${booked.endsAt} (${booked.status})`);

  // 6. The day's agenda: [local midnight, next local midnight) in the clinic's offset.
  const offset = offsetOf(booked.startsAt);
  const agenda = await clinic.query(AgendaDocument, {
    from: `${day}T00:00:00${offset}`,
    to: `${day}T23:59:59${offset}`,
    first: 100,
  });
  const appointments = agenda.data?.appointments;
  if (!appointments) throw new Unexpected(`agenda: ${agenda.error?.message}`);
  for (const { node } of appointments.edges) {
    say(`  agenda ${node.startsAt} ${node.patient.fullName} with ${node.professional.fullName}, ${node.chair.name} (${node.status})`);
  }
  if (!appointments.edges.some(({ node }) => node.id === booked.id)) {
    throw new Unexpected('the new appointment is not in the agenda');
  }
  say(`agenda of ${day}: ${appointments.totalCount} appointment(s), the new one included`);

  // 7. The same token on another clinic's domain: refused, as every token bound to a clinic.
  const other = clinicClient({ url: config.otherApi, token: () => token, persisted: config.persisted });
  const elsewhere = await other.query(WhoAmIDocument, {});
  const refusal = errorCodes(elsewhere.error);
  if (elsewhere.data?.me || !refusal.includes('UNAUTHENTICATED')) {
    throw new Unexpected(`another clinic answered this clinic's token: ${JSON.stringify(elsewhere.data)} ${refusal.join(', ')}`);
  }
  say(`this token on ${config.otherApi}: refused with ${refusal.join(', ')} (expected)`);

  // 8. Sign out; the token is dead from now on.
  const logout = await clinic.mutation(LogoutDocument, {});
  if (logout.data?.logout !== true) throw new Unexpected(`logout: ${logout.error?.message}`);
  const after = await clinic.query(WhoAmIDocument, {});
  const afterCodes = errorCodes(after.error);
  if (!afterCodes.includes('UNAUTHENTICATED')) throw new Unexpected(`the token still works after logout: ${afterCodes.join(', ')}`);
  token = null;
  say(`signed out; the old token is refused with ${afterCodes.join(', ')} (expected)`);
  say('OK');
}

main().catch((error: unknown) => {
  const what = error instanceof Unexpected ? 'unexpected answer' : 'error';
  console.error(`[front-desk] FAILED (${what}): ${error instanceof Error ? error.message : String(error)}`);
  if (!(error instanceof Unexpected) && error instanceof Error && error.stack) console.error(error.stack);
  process.exitCode = 1;
});
