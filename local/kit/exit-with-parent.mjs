// Preload (`node --import <this file> …`) for every process the local stack starts, Azurite included
// (unmodified): the stack hands each child the read end of a "lifeline" pipe as fd N
// (LOCAL_STACK_LIFELINE_FD=N). Only the stack holds the write end, so the kernel closes it when the
// stack exits for any reason — SIGKILL included — and the child sees end-of-file at once and stops
// as on SIGTERM (the host commits, the emulator kills its containers, Azurite saves), with a hard
// exit if that hangs. A pipe rather than polling the parent pid: no delay, no pid reuse, and no
// confusion when a shell or npm sits in between.
import net from 'node:net';

const fd = Number(process.env.LOCAL_STACK_LIFELINE_FD);
if (Number.isInteger(fd) && fd > 2) {
  // Not inherited: the component's own children (container processes) answer to the component.
  delete process.env.LOCAL_STACK_LIFELINE_FD;
  let lost = false;
  const onLost = () => {
    if (lost) return;
    lost = true;
    process.emitWarning(`the local stack that started this process (pid ${process.ppid}) is gone: stopping`);
    setTimeout(() => process.exit(1), 30_000).unref();
    process.kill(process.pid, 'SIGTERM');
  };
  const line = new net.Socket({ fd, readable: true, writable: false });
  line.on('end', onLost);
  line.on('close', onLost);
  line.on('error', onLost);
  line.resume();
  line.unref(); // the lifeline never keeps a process alive by itself
}
