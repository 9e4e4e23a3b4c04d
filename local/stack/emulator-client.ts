// What the stack asks the emulator as a client would: the controller identity's client id (from its
// ready line), a managed-identity token for ARM (to delete groups left at stop), and its admin API
// (behind the ready line's token: a tenant's container cannot use it).
import { ComponentError } from './child';
import type { EmulatorInfo } from './emulator-info';
import { requestJson, type JsonResponse } from './http-json';
import { controllerIdentityResourceId } from './settings';

/** The controller identity's client id, as the emulator's identity registry knows it. */
export async function controllerClientIdOf(emulator: EmulatorInfo): Promise<string> {
  const raw = emulator.raw;
  if (typeof raw.controllerClientId === 'string') return raw.controllerClientId;
  const ids = raw.identities as
    Record<string, { clientId?: string }> | Array<{ name?: string; clientId?: string }> | undefined;
  if (Array.isArray(ids)) {
    const c = ids.find((i) => i.name === 'aci-batch-controller')?.clientId;
    if (c) return c;
  } else if (ids && typeof ids === 'object') {
    const c = ids['aci-batch-controller']?.clientId ?? ids.controller?.clientId;
    if (c) return c;
  }
  throw new ComponentError(
    'azure-emulator',
    `its ready line names no client id for the controller identity ${controllerIdentityResourceId(emulator.subscriptionId)} (expected "controllerClientId" or "identities")`,
  );
}

/** A managed-identity token for ARM, fetched the way @azure/identity does (App Service protocol). */
export async function armToken(emulator: EmulatorInfo, clientId: string): Promise<string> {
  const u = new URL(emulator.identityEndpoint);
  u.searchParams.set('api-version', '2019-08-01');
  u.searchParams.set('resource', 'https://management.azure.com');
  u.searchParams.set('client_id', clientId);
  const r = await requestJson<{ access_token?: string }>(u.toString(), {
    headers: { 'X-IDENTITY-HEADER': emulator.identityHeader },
  });
  if (r.status !== 200 || !r.body.access_token)
    throw new ComponentError('azure-emulator', `identity endpoint answered ${r.status}: ${r.text.slice(0, 300)}`);
  return r.body.access_token;
}

/** Deletes container groups through ARM, as the controller would, and waits (30 s) until none is listed. */
export async function deleteGroupsThroughArm(o: {
  emulator: EmulatorInfo;
  clientId: string;
  ca: string;
  resourceGroup: string;
  names: string[];
  listGroups: () => Promise<unknown[]>;
  log: (m: string) => void;
}): Promise<void> {
  const token = await armToken(o.emulator, o.clientId);
  const base = `${o.emulator.armEndpoint}/subscriptions/${o.emulator.subscriptionId}/resourceGroups/${o.resourceGroup}/providers/Microsoft.ContainerInstance/containerGroups`;
  await Promise.all(
    o.names.map(async (n) => {
      const r = await requestJson(`${base}/${encodeURIComponent(n)}?api-version=2023-05-01`, {
        method: 'DELETE',
        ca: o.ca,
        headers: { authorization: `Bearer ${token}` },
      });
      if (r.status >= 300) o.log(`DELETE ${n}: ${r.status} ${r.text.slice(0, 200)}`);
    }),
  );
  const end = Date.now() + 30_000;
  while (Date.now() < end && (await o.listGroups()).length) await new Promise((r) => setTimeout(r, 200));
}

/** A group as the emulator's admin API lists it. */
export interface AdminGroup {
  name: string;
  [k: string]: unknown;
}

/** The emulator's admin API (`/_emulator/...`), with its CA and its admin token. */
export function emulatorAdmin(emulator: EmulatorInfo, ca: string) {
  const base = `${emulator.armEndpoint}/_emulator`;
  const admin = <T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<JsonResponse<T>> =>
    requestJson<T>(`${base}${path.startsWith('/') ? path : '/' + path}`, {
      ca,
      ...init,
      headers: { authorization: `Bearer ${emulator.adminToken}` },
    });
  const listGroups = async (): Promise<AdminGroup[]> => {
    const r = await admin<unknown>('/groups');
    if (r.status !== 200)
      throw new ComponentError('azure-emulator', `GET /_emulator/groups answered ${r.status}: ${r.text.slice(0, 300)}`);
    const body = r.body as { groups?: AdminGroup[]; value?: AdminGroup[] } | AdminGroup[];
    return Array.isArray(body) ? body : (body.groups ?? body.value ?? []);
  };
  return { admin, listGroups };
}
