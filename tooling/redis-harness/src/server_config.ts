/** The harness' config of a data node: loopback only, nothing written to disk. */
export function dataNodeConfig(port: number, dir: string): string[] {
  return [
    'bind 127.0.0.1',
    `port ${port}`,
    `dir ${JSON.stringify(dir)}`,
    'daemonize no',
    'save ""',
    'appendonly no',
    // Replicas sync at once instead of after the default 5 s wait for more replicas to share the transfer.
    'repl-diskless-sync-delay 0',
    // Lets fault tests make a server slow on purpose (DEBUG SLEEP), from loopback only.
    'enable-debug-command local',
  ]
}
