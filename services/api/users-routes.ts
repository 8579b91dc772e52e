import { z } from 'zod';
import type { OperationsFor } from '../operations/operations.js';
import type { ApiPlugin } from './server.js';
import { valid } from './validate.js';

/**
 * Users and tokens over HTTP, for the admin (and for `kpi users` / `kpi tokens` while a
 * running kpi holds the store):
 *
 *   GET  /v1/users                       POST /v1/users {name, role}
 *   POST /v1/users/:name/disable|enable
 *   GET  /v1/tokens[?user=name]          POST /v1/tokens {user, name, scope?, expiresAt?}  → the token, once
 *   POST /v1/tokens/:id/revoke
 */

const NewUser = z.object({ name: z.string().max(200), role: z.string().max(40), kind: z.enum(['user', 'service']).optional() }).strict();
const NewToken = z.object({ user: z.string().max(200), name: z.string().max(200), scope: z.string().max(40).optional(), expiresAt: z.string().max(40).optional() }).strict();
const Name = z.object({ name: z.string().max(200) }).strict();
const TokenId = z.object({ id: z.string().regex(/^[a-z2-7]{12}$/, 'expected a token id (12 letters a-z and digits 2-7)') }).strict();
const UserFilter = z.object({ user: z.string().max(200).optional() }).strict();

export function userRoutes({ operations }: { operations: OperationsFor }): ApiPlugin {
  const manage = { config: { action: 'users.manage' as const } };
  return (app) => {
    app.get('/v1/users', manage, async (req) => operations(req.caller).users());
    app.post('/v1/users', manage, async (req) => operations(req.caller).addUser(valid(NewUser, req.body)));
    for (const [verb, disabled] of [['disable', true], ['enable', false]] as const) {
      app.post(`/v1/users/:name/${verb}`, manage, async (req) => operations(req.caller).setDisabled(valid(Name, req.params).name, disabled));
    }
    app.get('/v1/tokens', manage, async (req) => operations(req.caller).tokens(valid(UserFilter, req.query).user));
    app.post('/v1/tokens', manage, async (req) => {
      const input = valid(NewToken, req.body);
      return operations(req.caller).createToken({ user: input.user, name: input.name, ...(input.scope ? { scope: input.scope } : {}), ...(input.expiresAt ? { expiresAt: input.expiresAt } : {}) });
    });
    app.post('/v1/tokens/:id/revoke', manage, async (req) => operations(req.caller).revokeToken(valid(TokenId, req.params).id));
  };
}
