// The api-versions Microsoft.ContainerInstance serves, and ARM's 400s for any other.
import { HttpError } from '../http-util';
import { normalizeLocation } from '../validation';

/**
 * api-versions Microsoft.ContainerInstance serves. Source: the list ARM itself returns in
 * NoRegisteredProviderFound (Azure/azure-cli#30444, 2024-11), plus the later public versions the CLI
 * and azapi send (2024-05-01-preview: azure-cli#30714; 2025-09-01: Azure/terraform-provider-azapi#993).
 */
export const SUPPORTED_API_VERSIONS = [
  '2017-08-01-preview',
  '2017-10-01-preview',
  '2017-12-01-preview',
  '2018-02-01-preview',
  '2018-04-01',
  '2018-06-01',
  '2018-07-01',
  '2018-09-01',
  '2018-10-01',
  '2019-12-01',
  '2020-11-01',
  '2021-03-01',
  '2021-07-01',
  '2021-09-01',
  '2021-10-01',
  '2022-04-01-preview',
  '2022-09-01',
  '2022-10-01-preview',
  '2023-02-01-preview',
  '2023-05-01',
  '2023-05-15-preview',
  '2024-05-01-preview',
  '2025-09-01',
];

/**
 * ARM refuses an api-version the provider does not serve with 400 NoRegisteredProviderFound, naming
 * the versions and locations it does serve (azure-cli#30444, nebari-dev/nebari#2374 for the 400). A
 * value that is not a date-shaped version gets 400 InvalidApiVersionParameter (ansible-collections/
 * azure#188: "The api-version '…' is invalid. The supported versions are '…'.").
 */
export function checkApiVersion(url: URL, location: string): void {
  const v = url.searchParams.get('api-version') ?? '';
  if (SUPPORTED_API_VERSIONS.includes(v)) return;
  const list = SUPPORTED_API_VERSIONS.join(', ');
  if (!/^\d{4}-\d{2}-\d{2}(-preview|-beta|-alpha|-privatepreview)?$/i.test(v)) {
    throw new HttpError(
      400,
      'InvalidApiVersionParameter',
      `The api-version '${v}' is invalid. The supported versions are '${list}'.`,
    );
  }
  const seg = url.pathname.split('/').filter(Boolean);
  const loc = seg.findIndex((x) => x.toLowerCase() === 'locations');
  const type = loc >= 0 && seg[loc + 2] ? `locations/${seg[loc + 2]}` : 'containerGroups';
  throw new HttpError(
    400,
    'NoRegisteredProviderFound',
    `No registered resource provider found for location '${normalizeLocation(location)}' and API version '${v}' for type '${type}'. The supported api-versions are '${list}'. The supported locations are '${normalizeLocation(location)}'.`,
  );
}
