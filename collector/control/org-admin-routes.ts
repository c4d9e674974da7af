// The API's routes about organisations and users themselves (the traffic routes are in
// admin-routes.ts):
//   anyone signed in:        GET /v1/whoami, GET /v1/orgs (their own organisations)
//   organisation members:    GET /v1/orgs/:org (viewer+), members and tokens (admin)
//   collector administrators: create / suspend / resume / delete organisations, users and their
//                            memberships, the collector audit - and nothing of any organisation's
//                            traffic unless they are also a member there.
import { InputError } from '../../shared/errors.js';
import { isOrgId } from '../../shared/orgs/org-id.js';
import { OperatorNameError } from '../../certs/operator-certs.js';
import { EnrollTokenError } from '../../certs/errors.js';
import { OrgStateError } from '../orgs/org-registry.js';
import { UserError } from '../users/user-store.js';
import { PasswordPolicyError } from '../users/password-hash.js';
import type { AdminHandler, RequestContext } from './admin-routes.js';
import { intParam, orgOf, readBody } from './admin-routes.js';
import { HttpError, type RouteSpec } from './route-table.js';

async function jsonBody(ctx: RequestContext): Promise<Record<string, unknown>> {
  const text = await readBody(ctx.req);
  try {
    const v = JSON.parse(text || '{}') as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch { /* below */ }
  throw new HttpError(400, 'malformed', 'request body must be a JSON object');
}

/** Maps the state layer's refusals to answers (the message is theirs). */
function answerOf(e: unknown): never {
  if (e instanceof OrgStateError) throw new HttpError(e.reason === 'unknown' ? 404 : 409, `org-${e.reason}`, e.message);
  if (e instanceof UserError) throw new HttpError(e.reason === 'unknown' ? 404 : e.reason === 'exists' ? 409 : 400, `user-${e.reason}`, e.message);
  if (e instanceof PasswordPolicyError || e instanceof OperatorNameError || e instanceof InputError) throw new HttpError(400, 'bad-input', (e as Error).message);
  if (e instanceof EnrollTokenError) throw new HttpError(400, `token-${e.reason}`, e.message);
  throw e;
}

function str(v: unknown, what: string, max = 200): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new HttpError(400, 'bad-input', `${what}: a string of 1-${max} characters expected`);
  return v;
}

const whoami: AdminHandler = (ctx) => ({
  status: 200,
  body: {
    user: ctx.principal.user,
    operator: ctx.principal.user,
    serial: ctx.serial,
    collectorAdmin: ctx.principal.collectorAdmin,
    memberships: [...ctx.principal.roles].map(([org, role]) => ({ org, role })),
  },
});

const listOrgs: AdminHandler = (ctx, deps) => {
  const all = deps.admin.listOrgs();
  const mine = ctx.principal.collectorAdmin ? all : all.filter((o) => ctx.principal.roles.has(o.id));
  return { status: 200, body: { orgs: mine.map((o) => ({ id: o.id, name: o.name, state: o.state, role: ctx.principal.roles.get(o.id) ?? null, createdAt: o.createdAt.toISOString() })) } };
};

const createOrg: AdminHandler = async (ctx, deps) => {
  const b = await jsonBody(ctx);
  const id = str(b.id, 'id', 32);
  if (!isOrgId(id)) throw new HttpError(400, 'bad-input', 'id: 1-32 characters a-z, 0-9 and inner -, starting with a letter');
  const tok = b.firstToken as { uses?: unknown; expiresSec?: unknown } | undefined;
  try {
    const out = deps.admin.createOrg({
      id, ...(typeof b.name === 'string' ? { name: b.name } : {}), actor: ctx.actor,
      ...(tok ? { firstToken: { uses: Number(tok.uses ?? 1), expiresInSec: Number(tok.expiresSec ?? 86_400) } } : {}),
    });
    return { status: 201, body: out };
  } catch (e) {
    return answerOf(e);
  }
};

const showOrg: AdminHandler = (ctx, deps) => {
  const o = orgOf(ctx);
  const rec = deps.orgRecord(o.org)!;
  return { status: 200, body: { id: rec.id, name: rec.name, state: rec.state, role: ctx.principal.roles.get(o.org) ?? null, createdAt: rec.createdAt.toISOString(), ...o.status() } };
};

const suspendOrg: AdminHandler = async (ctx, deps) => {
  const b = await jsonBody(ctx);
  try {
    const o = deps.admin.suspendOrg(ctx.params.org!, ctx.actor, typeof b.reason === 'string' ? b.reason.slice(0, 500) : '');
    return { status: 200, body: { id: o.id, state: o.state } };
  } catch (e) {
    return answerOf(e);
  }
};

const resumeOrg: AdminHandler = (ctx, deps) => {
  try {
    const o = deps.admin.resumeOrg(ctx.params.org!, ctx.actor);
    return { status: 200, body: { id: o.id, state: o.state } };
  } catch (e) {
    return answerOf(e);
  }
};

const deleteOrg: AdminHandler = (ctx, deps) => {
  // a destructive request names itself twice: ?confirm=<org>
  const org = ctx.params.org!;
  if (ctx.url.searchParams.get('confirm') !== org) throw new HttpError(400, 'confirm', `deleting removes every agent, flow and alert of ${org}: repeat its id as ?confirm=${org}`);
  try {
    return { status: 200, body: deps.admin.deleteOrg(org, ctx.actor, ctx.url.searchParams.get('reason') ?? '') };
  } catch (e) {
    return answerOf(e);
  }
};

const listMembers: AdminHandler = (ctx, deps) => ({ status: 200, body: { members: deps.users.membersOf(orgOf(ctx).org) } });

const putMember: AdminHandler = async (ctx, deps) => {
  const o = orgOf(ctx);
  const b = await jsonBody(ctx);
  const user = ctx.params.user!;
  try {
    deps.users.grant(user, o.org, str(b.role, 'role', 16));
  } catch (e) {
    return answerOf(e);
  }
  await o.audit.record({ actor: ctx.actor, action: 'member.grant', outcome: 'ok', detail: { user, role: b.role } });
  return { status: 200, body: { members: deps.users.membersOf(o.org) } };
};

const deleteMember: AdminHandler = async (ctx, deps) => {
  const o = orgOf(ctx);
  const user = ctx.params.user!;
  let removed: boolean;
  try {
    removed = deps.users.revoke(user, o.org);
  } catch (e) {
    return answerOf(e);
  }
  if (!removed) throw new HttpError(404, 'not-a-member', `${user} is not a member of ${o.org}`);
  await o.audit.record({ actor: ctx.actor, action: 'member.revoke', outcome: 'ok', detail: { user } });
  return { status: 200, body: { members: deps.users.membersOf(o.org) } };
};

const listTokens: AdminHandler = (ctx, deps) => ({ status: 200, body: { tokens: deps.admin.listTokens(orgOf(ctx).org) } });

const createToken: AdminHandler = async (ctx, deps) => {
  const o = orgOf(ctx);
  const b = await jsonBody(ctx);
  const uses = b.uses === undefined ? 1 : Number(b.uses);
  const expiresSec = b.expiresSec === undefined ? 86_400 : Number(b.expiresSec);
  if (!Number.isInteger(uses) || uses < 1 || uses > 1_000_000) throw new HttpError(400, 'bad-input', 'uses: a whole number 1..1000000');
  if (!Number.isFinite(expiresSec) || expiresSec < 1 || expiresSec > 366 * 86_400) throw new HttpError(400, 'bad-input', 'expiresSec: 1 s .. 366 days');
  let t;
  try {
    t = deps.admin.createToken(o.org, { uses, expiresInSec: expiresSec, ...(typeof b.label === 'string' ? { label: b.label.slice(0, 200) } : {}) });
  } catch (e) {
    return answerOf(e);
  }
  await o.audit.record({ actor: ctx.actor, action: 'token.create', outcome: 'ok', detail: { id: t.id, uses: t.uses, expiresAt: t.expiresAt.toISOString() } });
  return { status: 201, body: { token: t.token, id: t.id, org: t.org, uses: t.uses, expiresAt: t.expiresAt.toISOString() } };
};

const revokeToken: AdminHandler = async (ctx, deps) => {
  const o = orgOf(ctx);
  const id = ctx.params.id!;
  if (!deps.admin.revokeToken(o.org, id)) throw new HttpError(404, 'no-token', `no active token ${id.slice(0, 16)} in ${o.org}`);
  await o.audit.record({ actor: ctx.actor, action: 'token.revoke', outcome: 'ok', detail: { id } });
  return { status: 200, body: { id, revoked: true } };
};

const listUsers: AdminHandler = (_ctx, deps) => ({ status: 200, body: { users: deps.users.list() } });

const createUser: AdminHandler = async (ctx, deps) => {
  const b = await jsonBody(ctx);
  const name = str(b.name, 'name', 64);
  try {
    const u = await deps.users.add({ name, ...(typeof b.password === 'string' ? { password: b.password } : {}), collectorAdmin: b.collectorAdmin === true });
    deps.collectorAudit.record({ actor: ctx.actor, action: 'user.add', outcome: 'ok', detail: { user: name, collectorAdmin: u.collectorAdmin, password: u.hasPassword } });
    return { status: 201, body: u };
  } catch (e) {
    return answerOf(e);
  }
};

function setDisabled(disabled: boolean): AdminHandler {
  return (ctx, deps) => {
    const name = ctx.params.name!;
    try {
      deps.users.setDisabled(name, disabled);
    } catch (e) {
      return answerOf(e);
    }
    deps.collectorAudit.record({ actor: ctx.actor, action: disabled ? 'user.disable' : 'user.enable', outcome: 'ok', detail: { user: name } });
    return { status: 200, body: deps.users.get(name) };
  };
}

const putMembership: AdminHandler = async (ctx, deps) => {
  const b = await jsonBody(ctx);
  const { name, org } = { name: ctx.params.name!, org: ctx.params.org! };
  try {
    deps.users.grant(name, org, str(b.role, 'role', 16));
  } catch (e) {
    return answerOf(e);
  }
  deps.collectorAudit.record({ actor: ctx.actor, action: 'user.grant', org, outcome: 'ok', detail: { user: name, role: b.role } });
  return { status: 200, body: deps.users.get(name) };
};

const deleteMembership: AdminHandler = (ctx, deps) => {
  const { name, org } = { name: ctx.params.name!, org: ctx.params.org! };
  try {
    if (!deps.users.revoke(name, org)) throw new HttpError(404, 'not-a-member', `${name} is not a member of ${org}`);
  } catch (e) {
    return answerOf(e);
  }
  deps.collectorAudit.record({ actor: ctx.actor, action: 'user.revoke', org, outcome: 'ok', detail: { user: name } });
  return { status: 200, body: deps.users.get(name) };
};

const collectorAuditList: AdminHandler = (ctx, deps) => {
  const u = ctx.url;
  const org = u.searchParams.get('org');
  const after = intParam(u, 'after', 0, Number.MAX_SAFE_INTEGER);
  const limit = intParam(u, 'limit', 1, 10_000);
  return { status: 200, body: { entries: deps.collectorAudit.list({ ...(org ? { org } : {}), ...(after !== undefined ? { after } : {}), ...(limit ? { limit } : {}) }) } };
};

export const ORG_ADMIN_ROUTES: readonly RouteSpec<AdminHandler>[] = [
  { method: 'GET', path: '/v1/whoami', permission: 'identity:read', handler: whoami },
  { method: 'GET', path: '/v1/orgs', permission: 'identity:read', handler: listOrgs },
  { method: 'POST', path: '/v1/orgs', permission: 'orgs:manage', handler: createOrg },
  { method: 'GET', path: '/v1/orgs/:org', permission: 'org:read', handler: showOrg },
  { method: 'DELETE', path: '/v1/orgs/:org', permission: 'orgs:manage', handler: deleteOrg },
  { method: 'POST', path: '/v1/orgs/:org/suspend', permission: 'orgs:manage', handler: suspendOrg },
  { method: 'POST', path: '/v1/orgs/:org/resume', permission: 'orgs:manage', handler: resumeOrg },
  { method: 'GET', path: '/v1/orgs/:org/members', permission: 'members:read', handler: listMembers },
  { method: 'PUT', path: '/v1/orgs/:org/members/:user', permission: 'members:write', handler: putMember },
  { method: 'DELETE', path: '/v1/orgs/:org/members/:user', permission: 'members:write', handler: deleteMember },
  { method: 'GET', path: '/v1/orgs/:org/tokens', permission: 'tokens:read', handler: listTokens },
  { method: 'POST', path: '/v1/orgs/:org/tokens', permission: 'tokens:write', handler: createToken },
  { method: 'DELETE', path: '/v1/orgs/:org/tokens/:id', permission: 'tokens:write', handler: revokeToken },
  { method: 'GET', path: '/v1/users', permission: 'users:manage', handler: listUsers },
  { method: 'POST', path: '/v1/users', permission: 'users:manage', handler: createUser },
  { method: 'POST', path: '/v1/users/:name/disable', permission: 'users:manage', handler: setDisabled(true) },
  { method: 'POST', path: '/v1/users/:name/enable', permission: 'users:manage', handler: setDisabled(false) },
  { method: 'PUT', path: '/v1/users/:name/memberships/:org', permission: 'users:manage', handler: putMembership },
  { method: 'DELETE', path: '/v1/users/:name/memberships/:org', permission: 'users:manage', handler: deleteMembership },
  { method: 'GET', path: '/v1/collector/audit', permission: 'collector-audit:read', handler: collectorAuditList },
];
