// Activities: thin, one side effect each, small JSON in and out, built over injected ports (no
// config reading, no client construction here). Grouped by what they touch; together they are the
// ActivityHandlers of the contracts' ActivityMap, so each handler's input and output are typed.
import type { ActivityHandlers } from '../contracts';
import { admissionActivities } from './admission';
import { agentActivities } from './agent';
import { archiveActivities } from './archive';
import { arrayActivities } from './array';
import { dependencyActivities } from './dependencies';
import type { ActivityDeps } from './deps';
import { groupActivities } from './group';
import { notifyActivities } from './notify';

export type { ActivityDeps } from './deps';

export function createActivities(deps: ActivityDeps): ActivityHandlers {
  return {
    ...admissionActivities(deps),
    ...groupActivities(deps),
    ...agentActivities(deps),
    ...archiveActivities(deps),
    ...notifyActivities(deps),
    ...arrayActivities(deps),
    ...dependencyActivities(deps),
  };
}
