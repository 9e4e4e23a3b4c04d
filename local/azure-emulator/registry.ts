// ACR data plane, enough for @azure/container-registry: the 401 challenge, /oauth2/exchange and
// /oauth2/token, /acr/v1 catalog/repository/tags/manifests and /v2 manifests, with Docker-style errors.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson } from './http-util';
import type { ImageCatalog, ResolvedImage } from './image-catalog';
import { MANIFEST_MEDIA_TYPE } from './image-catalog';
import { ACR_AUDIENCE, ARM_AUDIENCES, signJwt, verifyJwt, type Claims } from './tokens';
import type { Logger } from './log';
import type { Grants } from './rbac';

export interface RegistryDeps {
  catalog: ImageCatalog;
  secret: Buffer;
  tenantId: string;
  loginServer: () => string;
  anonymousPull: boolean;
  /**
   * The registry's azureADAuthenticationAsArmPolicy: 'enabled' by default, so /oauth2/exchange takes
   * Entra tokens for ARM's audience as well as ACR's (MicrosoftDocs azure-docs
   * container-registry-disable-authentication-as-arm-template.md: "By default, Azure Container Registry
   * (ACR) accepts Azure AD Tokens with audience scope set for ACR and ARM"). false = disabled.
   */
  armAudienceTokens?: boolean;
  /** RBAC (--grants): a principal gets only the registry actions its role assignments allow */
  grants?: Grants;
  log: Logger;
}

/**
 * Whether RBAC allows a registry token action (learn.microsoft.com container-registry-roles.md: AcrPull =
 * pull/read, AcrPush adds push/write, AcrDelete = artifacts/delete; ABAC-mode repository roles:
 * repositories/content|metadata/read, …/write, …/delete).
 */
function tokenActionAllowed(grants: Grants, principal: string, action: string): boolean {
  const allows = (a: string) =>
    grants.allows(principal, `Microsoft.ContainerRegistry/registries/${a}`, grants.registry);
  switch (action) {
    case 'pull':
    case '*':
      return grants.mayRead(principal, 'content');
    case 'metadata_read':
      return grants.mayRead(principal, 'metadata');
    case 'push':
      return allows('push/write') || allows('repositories/content/write');
    case 'metadata_write':
      return allows('push/write') || allows('repositories/metadata/write');
    case 'delete':
      return allows('artifacts/delete') || allows('repositories/content/delete');
    default:
      return false;
  }
}

interface Access {
  type: string;
  name: string;
  actions: string[];
}

const CHANGEABLE = { deleteEnabled: true, writeEnabled: true, readEnabled: true, listEnabled: true };
const TOKEN_LIFETIME = 3 * 3600;

function dockerError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
  detail?: unknown,
): void {
  sendJson(res, status, { errors: [{ code, message, detail: detail ?? null }] }, headers);
}

function parseScopes(scopes: string[]): Access[] {
  const out: Access[] = [];
  for (const s of scopes.flatMap((x) => x.split(' ')).filter(Boolean)) {
    const first = s.indexOf(':');
    const last = s.lastIndexOf(':');
    if (first < 0 || last === first) continue;
    out.push({ type: s.slice(0, first), name: s.slice(first + 1, last), actions: s.slice(last + 1).split(',') });
  }
  return out;
}

function granted(claims: Claims, need: Access): boolean {
  const access = (claims.access ?? []) as Access[];
  return access.some(
    (a) =>
      a.type === need.type &&
      a.name === need.name &&
      (a.actions.includes('*') || need.actions.every((x) => a.actions.includes(x))),
  );
}

function manifestAttributes(reg: string, img: ResolvedImage) {
  return {
    digest: img.digest,
    imageSize: img.manifest.length,
    createdTime: img.createdTime,
    lastUpdateTime: img.createdTime,
    architecture: 'amd64',
    os: 'linux',
    mediaType: MANIFEST_MEDIA_TYPE,
    tags: img.tags,
    changeableAttributes: { ...CHANGEABLE, quarantineState: undefined },
    quarantineState: undefined,
    registry: reg,
    imageName: img.repository,
  };
}

function tagAttributes(img: ResolvedImage, tag: string) {
  return {
    name: tag,
    digest: img.digest,
    createdTime: img.createdTime,
    lastUpdateTime: img.createdTime,
    signed: false,
    changeableAttributes: CHANGEABLE,
  };
}

/** Page a sorted list the Docker way (`n`, `last`), returning the Link header for the next page. */
function page<T>(items: T[], key: (t: T) => string, url: URL, basePath: string): { items: T[]; link?: string } {
  const n = Number(url.searchParams.get('n') ?? '0');
  const last = url.searchParams.get('last');
  let list = items;
  if (last) list = list.filter((x) => key(x) > last);
  if (n > 0 && list.length > n) {
    const slice = list.slice(0, n);
    const lastKey = key(slice[slice.length - 1] as T);
    return { items: slice, link: `<${basePath}?last=${encodeURIComponent(lastKey)}&n=${n}&orderby=>; rel="next"` };
  }
  return { items: list };
}

export function createRegistryHandler(deps: RegistryDeps) {
  const { catalog } = deps;

  function challenge(res: ServerResponse, scope: string, reason = 'authentication required'): void {
    const server = deps.loginServer();
    dockerError(
      res,
      401,
      'UNAUTHORIZED',
      reason,
      {
        'WWW-Authenticate': `Bearer realm="https://${server}/oauth2/token",service="${server}",scope="${scope}"`,
      },
      [{ Type: scope.split(':')[0], Name: scope.split(':').slice(1, -1).join(':'), Action: scope.split(':').pop() }],
    );
  }

  function authorize(req: IncomingMessage, res: ServerResponse, need: Access): boolean {
    const scope = `${need.type}:${need.name}:${need.actions.join(',')}`;
    const auth = req.headers.authorization;
    if (!auth || !/^bearer /i.test(auth)) {
      challenge(res, scope);
      return false;
    }
    const v = verifyJwt(auth.slice(7).trim(), deps.secret, [deps.loginServer()]);
    if (!v.ok || v.claims.token_type !== 'access' || !granted(v.claims, need)) {
      challenge(res, scope, v.ok ? 'insufficient scope' : `access token ${v.reason}`);
      return false;
    }
    return true;
  }

  async function form(req: IncomingMessage): Promise<URLSearchParams> {
    return new URLSearchParams((await readBody(req, 64 * 1024)).toString('utf8'));
  }

  async function exchange(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const f = await form(req);
    const grant = f.get('grant_type');
    const service = f.get('service');
    const aad = f.get('access_token');
    if ((grant !== 'access_token' && grant !== 'access_token_refresh_token') || !aad) {
      dockerError(res, 400, 'UNSUPPORTED', 'grant_type must be access_token and access_token is required');
      return;
    }
    if (service !== deps.loginServer()) {
      dockerError(res, 400, 'UNSUPPORTED', `unknown service '${service}'`);
      return;
    }
    const armToo = deps.armAudienceTokens !== false;
    const v = verifyJwt(aad, deps.secret, [ACR_AUDIENCE, ACR_AUDIENCE + '/', ...(armToo ? ARM_AUDIENCES : [])]);
    if (!v.ok) {
      dockerError(
        res,
        401,
        'UNAUTHORIZED',
        `The AAD access token is not valid for this registry (${v.reason}); expected audience ${ACR_AUDIENCE}${armToo ? ` or ${ARM_AUDIENCES[0]}` : ' (authentication as ARM is disabled on this registry)'}.`,
      );
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const refresh = signJwt(
      {
        jti: `${now}-${Math.random().toString(36).slice(2)}`,
        sub: v.claims.oid,
        tid: v.claims.tid,
        appid: v.claims.appid,
        aud: service,
        iss: 'Azure Container Registry',
        iat: now,
        nbf: now,
        exp: now + TOKEN_LIFETIME,
        token_type: 'refresh',
      },
      deps.secret,
    );
    sendJson(res, 200, { refresh_token: refresh });
  }

  async function token(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const f = req.method === 'POST' ? await form(req) : url.searchParams;
    const service = f.get('service');
    const grant = f.get('grant_type');
    const scopes = parseScopes(f.getAll('scope'));
    if (service !== deps.loginServer()) {
      dockerError(res, 400, 'UNSUPPORTED', `unknown service '${service}'`);
      return;
    }
    let subject: unknown = 'anonymous';
    if (grant === 'refresh_token') {
      const v = verifyJwt(f.get('refresh_token') ?? '', deps.secret, [deps.loginServer()]);
      if (!v.ok || v.claims.token_type !== 'refresh') {
        dockerError(res, 401, 'UNAUTHORIZED', `invalid refresh token (${v.ok ? 'not a refresh token' : v.reason})`);
        return;
      }
      subject = v.claims.sub;
      const grants = deps.grants;
      if (grants) {
        // Docker token protocol: the token carries only the granted subset; the call then gets 401.
        for (const s of scopes) s.actions = s.actions.filter((a) => tokenActionAllowed(grants, String(subject), a));
      }
    } else if (grant === 'password' && !f.get('refresh_token')) {
      if (!deps.anonymousPull) {
        dockerError(res, 401, 'UNAUTHORIZED', 'anonymous pull is disabled on this registry');
        return;
      }
      // Anonymous callers only ever get pull/read rights.
      for (const s of scopes) s.actions = s.actions.filter((a) => a === 'pull' || a === 'metadata_read');
    } else {
      dockerError(res, 400, 'UNSUPPORTED', `unsupported grant_type '${grant}'`);
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const access = signJwt(
      {
        sub: subject,
        aud: service,
        iss: 'Azure Container Registry',
        iat: now,
        nbf: now,
        exp: now + TOKEN_LIFETIME,
        access: scopes,
        token_type: 'access',
      },
      deps.secret,
    );
    sendJson(res, 200, { access_token: access });
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `https://${deps.loginServer()}`);
    const path = url.pathname;
    const reg = deps.loginServer();
    const method = req.method ?? 'GET';

    if (path === '/oauth2/exchange' && method === 'POST') return exchange(req, res);
    if (path === '/oauth2/token') return token(req, res, url);

    if (path === '/v2/' || path === '/v2') {
      if (!authorize(req, res, { type: 'registry', name: 'catalog', actions: ['*'] })) return;
      sendJson(res, 200, {}, { 'Docker-Distribution-API-Version': 'registry/2.0' });
      return;
    }
    if (path === '/acr/v1/_catalog' || path === '/v2/_catalog') {
      if (method !== 'GET') return dockerError(res, 405, 'UNSUPPORTED', 'method not allowed');
      if (!authorize(req, res, { type: 'registry', name: 'catalog', actions: ['*'] })) return;
      const p = page(catalog.repositories(), (x) => x, url, path);
      sendJson(res, 200, { repositories: p.items }, p.link ? { Link: p.link } : {});
      return;
    }

    let m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
    if (m) {
      const repo = decodeURIComponent(m[1] as string);
      const ref = decodeURIComponent(m[2] as string);
      if (method !== 'GET' && method !== 'HEAD')
        return dockerError(res, 405, 'UNSUPPORTED', 'this registry is read-only');
      if (!authorize(req, res, { type: 'repository', name: repo, actions: ['pull'] })) return;
      if (!catalog.tags(repo))
        return dockerError(res, 404, 'NAME_UNKNOWN', 'repository name not known to registry', {}, { name: repo });
      const img = catalog.resolve(repo, ref);
      if (!img)
        return dockerError(
          res,
          404,
          'MANIFEST_UNKNOWN',
          'manifest tagged by "' + ref + '" is not found',
          {},
          { Tag: ref },
        );
      res.writeHead(200, {
        'Content-Type': MANIFEST_MEDIA_TYPE,
        'Docker-Content-Digest': img.digest,
        'Content-Length': img.manifest.length,
        'Docker-Distribution-API-Version': 'registry/2.0',
      });
      res.end(method === 'HEAD' ? undefined : img.manifest);
      return;
    }

    m = /^\/acr\/v1\/(.+?)(?:\/(_tags|_manifests)(?:\/([^/]+))?)?$/.exec(path);
    if (m) {
      const repo = decodeURIComponent(m[1] as string);
      const kind = m[2];
      const ref = m[3] ? decodeURIComponent(m[3]) : undefined;
      if (method !== 'GET') return dockerError(res, 405, 'UNSUPPORTED', 'this registry is read-only');
      if (!authorize(req, res, { type: 'repository', name: repo, actions: ['metadata_read'] })) return;
      const tags = catalog.tags(repo);
      if (!tags)
        return dockerError(res, 404, 'NAME_UNKNOWN', 'repository name not known to registry', {}, { name: repo });
      if (!kind) {
        const manifests = catalog.manifests(repo);
        const created = manifests[0]?.createdTime ?? new Date().toISOString();
        sendJson(res, 200, {
          registry: reg,
          imageName: repo,
          createdTime: created,
          lastUpdateTime: created,
          manifestCount: manifests.length,
          tagCount: tags.length,
          changeableAttributes: { ...CHANGEABLE, teleportEnabled: false },
        });
        return;
      }
      if (kind === '_tags') {
        if (ref) {
          const img = catalog.resolve(repo, ref);
          if (!img || ref.startsWith('sha256:'))
            return dockerError(res, 404, 'TAG_UNKNOWN', `the specified tag does not exist`, {}, { Tag: ref });
          sendJson(res, 200, { registry: reg, imageName: repo, tag: tagAttributes(img, ref) });
          return;
        }
        const all = tags.map((t) => ({ t, img: catalog.resolve(repo, t) as ResolvedImage }));
        const p = page(all, (x) => x.t, url, path);
        sendJson(
          res,
          200,
          { registry: reg, imageName: repo, tags: p.items.map((x) => tagAttributes(x.img, x.t)) },
          p.link ? { Link: p.link } : {},
        );
        return;
      }
      if (ref) {
        const img = ref.startsWith('sha256:') ? catalog.resolve(repo, ref) : undefined;
        if (!img) return dockerError(res, 404, 'MANIFEST_UNKNOWN', 'manifest unknown', {}, { Digest: ref });
        sendJson(res, 200, { registry: reg, imageName: repo, manifest: manifestAttributes(reg, img) });
        return;
      }
      const p = page(catalog.manifests(repo), (x) => x.digest, url, path);
      sendJson(
        res,
        200,
        { registry: reg, imageName: repo, manifests: p.items.map((i) => manifestAttributes(reg, i)) },
        p.link ? { Link: p.link } : {},
      );
      return;
    }
    dockerError(res, 404, 'NOT_FOUND', `no route for ${method} ${path}`);
  };
}
