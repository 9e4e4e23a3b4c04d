// The small kit shared by local/ (host, emulator, stack) and the tests: bounded body reading with one
// 413 behaviour, spawning a CLI and waiting for its ready line, polling with a deadline, process
// liveness. It imports nothing of ours, so every part of local/ may use it.
export { answerExpectContinue, BodyTooLargeError, declaresTooLarge, readBoundedBody, tooLargeHeaders } from './body';
export { ChildLines, jsonLine, spawnReady, splitLines, type ReadyChild, type SpawnReadyOptions } from './child-lines';
export { groupAlive, pidAlive, signalGroup } from './processes';
export { sleep, waitFor, waitUntil, type WaitOptions } from './wait';
