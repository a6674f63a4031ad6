/**
 * The JSON the server sends, mirroring raiden_lab.operations.models and raiden_lab.vocabulary
 * (tests/test_server.py checks them key for key and word for word).
 */

/** raiden_lab.vocabulary.ClusterState */
export const CLUSTER_STATES = ['starting', 'running', 'degraded', 'stopped'] as const;
/** raiden_lab.vocabulary.NodeState */
export const NODE_STATES = ['starting', 'up', 'down', 'failed', 'draining', 'off'] as const;
/** raiden_lab.vocabulary.EngineState */
export const ENGINE_STATES = ['starting', 'idle', 'busy', 'dead'] as const;
/** raiden_lab.vocabulary.Event */
export const EVENT_KINDS = [
  'cluster-starting',
  'cluster-running',
  'cluster-stopped',
  'controller-started',
  'controller-died',
  'controller-restarted',
  'node-skipped',
  'node-up',
  'node-down',
  'node-back',
  'node-failed',
  'node-joined',
  'node-silent',
  'node-restarting',
  'engine-died',
  'engine-restarted',
  'leftovers-killed',
  'job-started',
  'job-submitted',
  'job-restarted',
  'job-ended',
  'job-failed',
  'job-cancelled',
  'temperature-high',
  'temperature-normal',
  'throttling-began',
  'throttling-ended',
  'state-file-damaged',
  'state-file-unwritable',
  'node-noisy',
  'node-clock-off',
  'node-added',
  'node-draining',
  'node-removed',
  'power-on',
  'power-off',
  'power-cycle',
  'power-failed'
] as const;
/** raiden_lab.vocabulary.temperature_band */
export const TEMPERATURE_BANDS = ['unknown', 'fine', 'warm', 'hot'] as const;

export type ClusterState = (typeof CLUSTER_STATES)[number];
export type NodeState = (typeof NODE_STATES)[number];
export type EngineState = (typeof ENGINE_STATES)[number];
export type EventKind = (typeof EVENT_KINDS)[number];
export type TemperatureBand = (typeof TEMPERATURE_BANDS)[number];

export interface IEngine {
  id: number;
  state: EngineState;
  pid: number | null;
}

/** The Pi firmware's throttle flags as the node's agent decoded them (raiden_lab.vocabulary.THROTTLE_FLAGS) */
export interface IThrottled {
  raw: number;
  under_voltage: boolean;
  freq_capped: boolean;
  throttled: boolean;
  soft_temp_limit: boolean;
}

export interface ISample {
  /** when the head received it (the head's clock) */
  time: number;
  /** the node's own clock at that moment (a node's clock may be far off) */
  node_time?: number;
  cpu: number[];
  cpu_total: number | null;
  load: number[] | null;
  memory: { total: number; available: number; percent: number } | null;
  temperature: number | null;
  throttled: IThrottled | null;
  /** the node's power draw, where its inventory names a power_sensor */
  watts: number | null;
  /** the CPU's clock now, in MHz, where the kernel tells it (a throttled Pi's drops) */
  mhz: number | null;
  disk_free: number | null;
  net: { bytes_sent: number; bytes_recv: number } | null;
  /** per engine id: its process as the node's agent sees it */
  engines: Record<string, { pid: number; cpu: number; memory: number }>;
}

export interface INode {
  host: string;
  state: NodeState;
  arch: string | null;
  cores: number | null;
  labels: string[];
  engines: IEngine[];
  problem: string | null;
  work_dir: string | null;
  sample: ISample | null;
  /** the colour band of the latest temperature */
  temperature_band: TemperatureBand;
  /** the throttle flags set now, as words; null when the node has no such sensor */
  throttling: string[] | null;
  /** its power hooks ('on', 'off', 'status') and what its power_status said last ('on', 'off', 'unknown') */
  power: { hooks: PowerAction[]; state: 'on' | 'off' | 'unknown' | null };
}

export type PowerAction = 'on' | 'off' | 'status';

export interface IJob {
  /** the launcher that runs it: 'mpi', 'slurm' or another installed one */
  kind: string;
  /** mpiexec's pid, or Slurm's job id (null when sbatch refused the job) */
  id: string | null;
  /** Slurm's word (PENDING, RUNNING, CANCELLED, TIMEOUT ...), or RUNNING / ENDED for mpiexec */
  state: string;
  nodes: string[];
  engines: number;
  /** one line for people, as `raiden status` prints it */
  text: string;
  reason?: string;
  exit_code?: number | null;
}

export interface ICluster {
  name: string;
  state: ClusterState;
  inventory: string;
  controller: {
    ip: string;
    /** 'ipc': Unix sockets in the cluster's private folder (every node is the head); 'tcp' otherwise */
    transport: 'ipc' | 'tcp';
    ports: Record<string, number> | null;
    pid: number | null;
    /** CurveZMQ between head and nodes */
    encrypted: boolean;
    /** the inventory's port range, "FIRST-LAST", or null for any free port */
    port_range: string | null;
  };
  /** how engines start: 'ssh', 'mpi', 'slurm' or another installed launcher */
  launcher: string;
  /** the job that runs the engines (empty for SSH) */
  jobs: IJob[];
  supervisor_pid: number | null;
  started: number | null;
  engines: { alive: number; total: number };
  tasks: { queued: number; running: number; done: number };
  /** the hottest node with a sensor */
  hottest: { host: string; celsius: number } | null;
  nodes: INode[];
}

export interface IEvent {
  id: number;
  time: number;
  host: string | null;
  kind: EventKind;
  message: string;
}

/** The class's grid, mirroring raiden_lab.classroom.progress_model. */
export interface IProgress {
  name: string;
  exercises: string[];
  students: IStudent[];
}

export interface IStudent {
  user: string;
  /** per exercise: 'passed', 'failed' (tried, never passed) or null (not tried) */
  results: Record<string, 'passed' | 'failed' | null>;
  passed: number;
}

/** One student's seat, mirroring raiden_lab.classroom.seats.Seats.status. */
export interface ISeat {
  user: string;
  seat: number;
  name: string;
  state: ClusterState;
  engines: { alive: number; total: number; busy: number };
  /** CPU of the seat's engines, percent of one core, summed over its nodes */
  cpu: number;
  tasks: { queued: number; running: number; done: number };
  nodes: { host: string; state: NodeState; engines: IEngine[] }[];
  /** what happened to the seat, newest first (an engine restarted, and why) */
  events: IEvent[];
}

/** A student's own view of the class, mirroring raiden_lab.server.classes.student_view. */
export interface IMySeat {
  class: string | null;
  user: string | null;
  /** null until the student takes a seat (raiden_lab.connect() or the sidebar's button) */
  seat: ISeat | null;
  error: string | null;
}

/** GET view: what the sidebar and the status bar need in one poll. */
export interface IView {
  clusters: string[];
  cluster: ICluster | null;
  events: IEvent[];
  /** the class's grid, when a class of this cluster runs and this server's user teaches it */
  progress: IProgress | null;
  /** the class's seats, for its teacher */
  seats: ISeat[] | null;
  /** for a student of a class: their own seat, and nothing of the cluster */
  seat: IMySeat | null;
}

export interface ICommandResult {
  ok: boolean;
  exit_code: number;
  output: string;
  problems: string[];
  cluster: ICluster;
}

/** A workshop lesson, mirroring raiden_lab.operations.models.make_lesson_model. */
export interface ILesson {
  file: string;
  number: string;
  title: string;
  copy: string | null;
}

/** One task (an item of a map, or a chunk whose items were too short to time one by one). */
export interface IStreamTask {
  kind: 'task' | 'chunk';
  map: number;
  function: string;
  engine: number | null;
  node: string | null;
  chunk: number;
  start: number;
  end: number;
  outcome: string;
  items: number | null;
  first: number | null;
  /** what the task printed (its first 200 characters), where it printed something */
  said: string | null;
}

export interface IStreamNode {
  host: string;
  state: string;
  engines: number[];
  samples: { time: number; temperature: number | null; throttled: boolean; mhz: number | null }[];
}

/** What GET /raiden-lab/clusters/NAME/tasks answers. */
export interface IStream {
  now: number;
  since: number;
  tasks: IStreamTask[];
  nodes: IStreamNode[];
}
