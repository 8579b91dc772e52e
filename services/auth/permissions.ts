import { ForbiddenError, UnauthenticatedError } from '../shared/errors.js';

/**
 * Who may do what: the one permissions table. Every HTTP route and every `kpi` command
 * names the action it performs and asks `can(role, action)`; the README shows this table.
 * Pure: no I/O.
 */

export const ROLES = ['viewer', 'analyst', 'operator', 'finance', 'admin', 'service'] as const;
export type Role = (typeof ROLES)[number];

/** Roles a person can hold; `service` is for ingest and worker processes. */
export const USER_ROLES = ['viewer', 'analyst', 'operator', 'finance', 'admin'] as const satisfies readonly Role[];

export const ACTIONS = {
  'values.read': 'read KPI values, scorecards, periods, restatements, the audit trail and metrics',
  'sql.read': 'run read-only SQL (the analysts\u2019 door, kpi sql)',
  'sql.write': 'run SQL that changes data or schema (kpi sql --write, kpi migrate through a running kpi)',
  'imports.write': 'import targets and manual KPI inputs',
  'periods.close': 'close a period',
  'periods.approve': 'approve a quarter (finance sign-off)',
  'periods.reopen': 'reopen an approved quarter',
  'audit.verify': 'verify the audit trail\u2019s hash chain',
  'users.manage': 'add, list and disable users; create and revoke tokens for them',
  'schedules.apply': 'create or update the Temporal Schedules',
} as const;
export type Action = keyof typeof ACTIONS;

/**
 * Each role's row. Roles are not a ladder: finance signs off but does not import, so the
 * one who imports a quarter's targets is never the one who approves it; admin manages
 * credentials and schedules but neither imports nor approves.
 */
export const PERMISSIONS: Readonly<Record<Role, readonly Action[]>> = {
  viewer: ['values.read'],
  analyst: ['values.read', 'sql.read'],
  operator: ['values.read', 'imports.write', 'periods.close'],
  finance: ['values.read', 'periods.approve', 'periods.reopen', 'audit.verify'],
  admin: ['values.read', 'sql.read', 'sql.write', 'audit.verify', 'users.manage', 'schedules.apply'],
  service: ['values.read', 'sql.read', 'sql.write', 'periods.close'],
};

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function can(role: Role, action: Action): boolean {
  return PERMISSIONS[role].includes(action);
}

/** The roles that may perform an action, for error messages: "needs operator". */
export function rolesFor(action: Action): Role[] {
  return ROLES.filter((r) => can(r, action));
}

/** A token may be scoped down to a role whose permissions are all the principal's own. */
export function canScopeTo(role: Role, scope: Role): boolean {
  return PERMISSIONS[scope].every((a) => can(role, a));
}

/** Throws unless the caller's role may perform the action; returns the caller. */
export function authorize<C extends { name: string; role: Role }>(caller: C | null | undefined, action: Action): C {
  if (!caller) throw new UnauthenticatedError('a credential is required');
  if (!can(caller.role, action)) throw new ForbiddenError(`${caller.name} (${caller.role}) may not ${ACTIONS[action]}: that needs the ${rolesFor(action).join(' or ')} role`);
  return caller;
}
