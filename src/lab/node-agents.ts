import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterLab } from './cluster-lab.js';
import type { ProcessHandle, RunResult } from './process.js';

export { eventually } from './process.js';

/** The CLI, as the images run it. */
export const EGRESS_ROUTER_BIN = fileURLToPath(new URL('../../../bin/egress-router', import.meta.url));
/** The admin port the lab's agents listen on (each in its node's namespace). */
export const LAB_AGENT_ADMIN_PORT = 9093;

/** The node agents of a cluster lab, reading one manifest directory. */
export interface LabAgents {
  /** The directory the agents read (`--source dir:`): the lab's pods, plus what the caller writes. */
  readonly dir: string;
  /** Writes (atomically: a temporary file renamed over it) a manifest file into the directory. */
  write(name: string, text: string): void;
  /** Removes a manifest file. */
  remove(name: string): void;
  /** Starts node i's agent (again) and waits until it runs. */
  start(node: number, extraArgs?: readonly string[]): Promise<ProcessHandle>;
  /** Stops node i's agent (SIGTERM: its rules stay). */
  stop(node: number): Promise<void>;
  /** The running agent of node i. */
  agent(node: number): ProcessHandle | undefined;
  /** `egress-router node ARGS` in node i's namespace. */
  cli(node: number, args: readonly string[]): Promise<RunResult>;
  /** `node status --json` of node i. */
  status(node: number): Promise<NodeStatusJson>;
  /** Stops every agent and removes the directory (the lab's destroy() removes the tables). */
  close(): Promise<void>;
}

/** The parts of `node status --json` tests read. */
export interface NodeStatusJson {
  readonly lastReconcile?: { readonly ok: boolean; readonly at: string; readonly commands: number };
  readonly namespaces: readonly {
    readonly namespace: string;
    readonly state: string;
    readonly reason?: string;
    readonly errors?: readonly string[];
    readonly warnings: readonly string[];
    readonly pods: number;
  }[];
  readonly dnsNames: readonly {
    readonly name: string;
    readonly addresses: readonly { readonly address: string }[];
  }[];
  readonly problems: readonly { readonly origin: string; readonly message: string }[];
  readonly counters?: readonly {
    readonly namespace: string;
    readonly rules: readonly { readonly index: number; readonly packets: number }[];
    readonly unmatched: { readonly packets: number };
  }[];
}

/**
 * Node agents for a cluster lab: one manifest directory holding the lab's pods, read by an agent
 * in each node namespace (`--source dir:`, `NODE_NAME` node<i>, the lab's networks). Pure set-up;
 * call start() for each node that should run one.
 *
 * @param lab the cluster lab
 */
export function labAgents(lab: ClusterLab): LabAgents {
  const dir = mkdtempSync(join(tmpdir(), 'egress-node-objects-'));
  const stateDir = mkdtempSync(join(tmpdir(), 'egress-node-state-'));
  const agents = new Map<number, ProcessHandle>();
  const a = lab.addresses;
  const write = (name: string, text: string) => {
    // Renamed over, as editors do: the agent reads the whole new file or the old one.
    const temporary = join(dir, `.tmp-${name}`);
    writeFileSync(temporary, text);
    renameSync(temporary, join(dir, name));
  };
  write('pods.yaml', lab.podManifests());
  const agentsApi: LabAgents = {
    dir,
    write,
    remove: (name) => rmSync(join(dir, name), { force: true }),
    async start(node, extraArgs = []) {
      await agentsApi.stop(node);
      const handle = await lab.spawnIn(node, process.execPath, [
        EGRESS_ROUTER_BIN,
        'node',
        '--source',
        `dir:${dir}`,
        '--node-name',
        `node${node}`,
        '--cluster-network',
        `${a.clusterNetwork4},${a.clusterNetwork6}`,
        '--service-network',
        `${a.serviceNetwork4},${a.serviceNetwork6}`,
        '--admin-port',
        String(LAB_AGENT_ADMIN_PORT),
        '--status-file',
        join(stateDir, `node${node}.json`),
        ...extraArgs,
      ]);
      agents.set(node, handle);
      await handle.waitFor(/"node agent running"/, { timeoutMs: 20_000 });
      return handle;
    },
    async stop(node) {
      const handle = agents.get(node);
      agents.delete(node);
      await handle?.stop(5_000);
    },
    agent: (node) => agents.get(node),
    cli: (node, args) =>
      lab.exec(node, process.execPath, [EGRESS_ROUTER_BIN, 'node', ...args], { check: false }),
    async status(node) {
      const result = await agentsApi.cli(node, [
        'status',
        '--json',
        '--admin-port',
        String(LAB_AGENT_ADMIN_PORT),
        '--status-file',
        join(stateDir, `node${node}.json`),
      ]);
      if (result.code !== 0) throw new Error(`node status on node${node}: ${result.stderr}`);
      return JSON.parse(result.stdout) as NodeStatusJson;
    },
    async close() {
      await Promise.all([...agents.keys()].map((node) => agentsApi.stop(node)));
      rmSync(dir, { recursive: true, force: true });
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
  return agentsApi;
}
