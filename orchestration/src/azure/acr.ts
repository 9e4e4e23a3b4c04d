// Tag → digest resolution in the job registry (ACR data plane). A 404 from ACR has no error code
// (azure-emulation.md §4.1), so "missing" is decided on the status code.
import { ContainerRegistryClient } from '@azure/container-registry';
import type { TokenCredential } from '@azure/identity';
import { JOB_ERROR_CODES } from '../contracts';
import { jobError } from '../errors';
import { classifyArmError } from './arm-errors';
import type { ImageResolver } from '../ports';

export function createAcrResolver(credential: TokenCredential, loginServer: string, audience?: string): ImageResolver {
  const endpoint = /^https?:\/\//.test(loginServer) ? loginServer : `https://${loginServer}`;
  const client = new ContainerRegistryClient(endpoint, credential, {
    audience: audience ?? 'https://containerregistry.azure.net',
    retryOptions: { maxRetries: 3, retryDelayInMs: 500, maxRetryDelayInMs: 8000 },
  });
  return {
    async resolve(repository, tagOrDigest) {
      try {
        const props = await client
          .getArtifact(repository, tagOrDigest)
          .getManifestProperties({ requestOptions: { timeout: 30_000 } });
        if (!props.digest)
          throw jobError(JOB_ERROR_CODES.imageNotFound, `ACR returned no digest for ${repository}:${tagOrDigest}`);
        return props.digest;
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode === 404) {
          throw jobError(
            JOB_ERROR_CODES.imageNotFound,
            `Image ${repository}${tagOrDigest.startsWith('sha256:') ? '@' : ':'}${tagOrDigest} was not found in ${loginServer}`,
          );
        }
        if ((e as { statusCode?: number }).statusCode === 401 || (e as { statusCode?: number }).statusCode === 403) {
          throw jobError(
            JOB_ERROR_CODES.imageNotFound,
            `The controller may not read ${repository} in ${loginServer} (${(e as { statusCode?: number }).statusCode})`,
          );
        }
        throw classifyArmError(e, `resolve image ${repository}`);
      }
    },
  };
}
