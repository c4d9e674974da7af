// What users may do. Every API route declares one permission (collector/control/route-table.ts).
// Organisation permissions are held through a membership's role in that organisation - viewer
// (read), responder (act: commands, alert handling, packet export), admin (the organisation's
// tokens and members) - and only for that organisation. Collector permissions (organisations,
// users, the collector audit) are held by collector administrators, who see no organisation's
// traffic unless they also have a membership there.

export const ROLES = ['viewer', 'responder', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(s: unknown): s is Role {
  return typeof s === 'string' && (ROLES as readonly string[]).includes(s);
}

export const ORG_PERMISSIONS = [
  'org:read', 'agents:read', 'inventory:read', 'commands:read', 'audit:read', 'flows:read', 'alerts:read',
  'commands:submit', 'alerts:write', 'pcap:export',
  'tokens:read', 'tokens:write', 'members:read', 'members:write',
] as const;
export type OrgPermission = (typeof ORG_PERMISSIONS)[number];

export const COLLECTOR_PERMISSIONS = ['identity:read', 'orgs:manage', 'users:manage', 'collector-audit:read'] as const;
export type CollectorPermission = (typeof COLLECTOR_PERMISSIONS)[number];

export type Permission = OrgPermission | CollectorPermission;

export function isOrgPermission(p: Permission): p is OrgPermission {
  return (ORG_PERMISSIONS as readonly string[]).includes(p);
}

const VIEWER: readonly OrgPermission[] = ['org:read', 'agents:read', 'inventory:read', 'commands:read', 'audit:read', 'flows:read', 'alerts:read'];
// packets with payload are the most sensitive thing the collector keeps: exporting them is acting, not viewing
const RESPONDER: readonly OrgPermission[] = [...VIEWER, 'commands:submit', 'alerts:write', 'pcap:export'];
const ADMIN: readonly OrgPermission[] = [...RESPONDER, 'tokens:read', 'tokens:write', 'members:read', 'members:write'];

export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<OrgPermission>>> = {
  viewer: new Set(VIEWER),
  responder: new Set(RESPONDER),
  admin: new Set(ADMIN),
};

/** Every authenticated user; collector administrators also hold the rest. */
const EVERY_USER: ReadonlySet<CollectorPermission> = new Set(['identity:read']);
const COLLECTOR_ADMIN: ReadonlySet<CollectorPermission> = new Set(COLLECTOR_PERMISSIONS);

/** Who is asking: an enabled user, with their memberships. */
export interface Principal {
  user: string;
  collectorAdmin: boolean;
  /** organisation id -> role */
  roles: ReadonlyMap<string, Role>;
  /** when the user's password was last set or the user was disabled/enabled (sessions older than this are void) */
  credentialsChangedAt: number;
}

/** Whether the principal holds `permission`, in `org` for organisation permissions. */
export function allows(p: Principal, permission: Permission, org?: string): boolean {
  if (isOrgPermission(permission)) {
    const role = org === undefined ? undefined : p.roles.get(org);
    return role !== undefined && ROLE_PERMISSIONS[role].has(permission);
  }
  return (p.collectorAdmin ? COLLECTOR_ADMIN : EVERY_USER).has(permission);
}
