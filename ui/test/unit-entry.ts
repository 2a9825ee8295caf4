// Pure modules under unit test, bundled by `npm test` (pretest) into test-dist/unit.mjs.
export { globToRegExp } from "../src/ipc/fake/glob";
export { explain } from "../src/ipc/fake/evaluate";
export { seedIdentities, workedExampleModel, modelOfRule, wirePermissions, user, group } from "../src/ipc/fake/data";
export { bucketize } from "../src/lib/activity/chart";
export { formatBytes, formatDuration, formatAgo } from "../src/lib/shared/format";
