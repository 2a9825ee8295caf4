// Pure modules under unit test, bundled by `npm test` (pretest) into test-dist/unit.mjs.
export { globToRegExp } from "../src/ipc/fake/glob";
export { AnswerBook, NotInFixtures, canonical } from "../src/ipc/fake/answers";
export { seedIdentities, workedExampleModel, leadsThenTeamModel, largeModel, modelOfRule, wirePermissions, user, group } from "../src/ipc/fake/data";
export { bucketize } from "../src/lib/activity/chart";
export { formatBytes, formatDuration, formatAgo } from "../src/lib/shared/format";
