/**
 * The JSON the server sends, mirroring raiden_lab.models.make_cluster_model and make_event_model.
 */
export interface IEngine {
  id: number;
  state: 'starting' | 'idle' | 'busy' | 'dead';
  pid: number | null;
}

export interface IThrottled {
  raw: number;
  under_voltage: boolean;
  freq_capped: boolean;
  throttled: boolean;
  soft_temp_limit: boolean;
}

export interface ISample {
  time: number;
  cpu: number[];
  cpu_total: number | null;
  load: number[] | null;
  memory: { total: number; available: number; percent: number } | null;
  temperature: number | null;
  throttled: IThrottled | null;
  disk_free: number | null;
  net: { bytes_sent: number; bytes_recv: number } | null;
  /** per engine id: its process as the node's agent sees it */
  engines: Record<string, { pid: number; cpu: number; memory: number }>;
}

export interface INode {
  host: string;
  state: 'starting' | 'up' | 'down' | 'failed';
  arch: string | null;
  cores: number | null;
  labels: string[];
  engines: IEngine[];
  problem: string | null;
  work_dir: string | null;
  sample: ISample | null;
}

export interface IJob {
  kind: 'mpi' | 'slurm';
  /** mpiexec's pid, or Slurm's job id (null when sbatch refused the job) */
  id: string | null;
  /** Slurm's word (PENDING, RUNNING, CANCELLED, TIMEOUT ...), or RUNNING / ENDED for mpiexec */
  state: string;
  nodes: string[];
  engines: number;
  reason?: string;
  exit_code?: number | null;
}

export interface ICluster {
  name: string;
  state: 'starting' | 'running' | 'degraded' | 'stopped';
  inventory: string;
  controller: {
    ip: string;
    ports: Record<string, number> | null;
    pid: number | null;
    /** CurveZMQ between head and nodes */
    encrypted: boolean;
    /** the inventory's port range, "FIRST-LAST", or null for any free port */
    port_range: string | null;
  };
  /** how engines start: over SSH per node, one mpiexec across the nodes, or a Slurm job */
  launcher: 'ssh' | 'mpi' | 'slurm';
  /** the MPI or Slurm job that runs the engines (empty for SSH) */
  jobs: IJob[];
  supervisor_pid: number | null;
  started: number | null;
  engines: { alive: number; total: number };
  tasks: { queued: number; running: number; done: number };
  nodes: INode[];
}

export interface IEvent {
  id: number;
  time: number;
  host: string | null;
  kind: string;
  message: string;
}

export interface ICommandResult {
  ok: boolean;
  exit_code: number;
  output: string;
  problems: string[];
  cluster: ICluster;
}

/** A workshop lesson, mirroring raiden_lab.models.make_lesson_model. */
export interface ILesson {
  file: string;
  number: string;
  title: string;
  copy: string | null;
}
