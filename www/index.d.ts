// Types of privaudit's JavaScript API (www/api.js) and of the <privacy-audit> element
// (www/widget.js). The report types follow schema/report.schema.json (schema_version 6).

/** A file the engine reads: bytes, or a Blob/File (its name is used in error messages). */
export type FileLike = Uint8Array | ArrayBuffer | Blob | File | { name?: string; bytes: Uint8Array };

/** Attack names; "threshold", "lira" and "rmia" stand for every variant the mode allows. */
export type AttackName =
  | "loss" | "confidence" | "entropy" | "modified_entropy" | "attack_p"
  | "lira_online" | "lira_offline" | "lira_online_fixed_variance" | "lira_offline_fixed_variance"
  | "rmia_online" | "rmia_offline";
export type AttackGroup = "threshold" | "lira" | "rmia";

export interface TrainingOptions {
  /** Default "adam". */
  optimizer?: "adam" | "sgd";
  /** Default 0.001. */
  learningRate?: number;
  /** Default 100. */
  epochs?: number;
  /** Default 32. */
  batchSize?: number;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay?: number;
  /** Augment image inputs while training: "none" (default), "flip" (left–right, p = ½), "flip-crop" (then a crop from the image zero-padded by 4). */
  augment?: "none" | "flip" | "flip-crop";
}

/** How the report's intervals and ε lower bounds are computed. */
export interface StatisticsOptions {
  /** Bootstrap resamples behind every interval; 0 computes none. Default 1000. */
  bootstrap?: number;
  /** Confidence of the intervals and the ε bounds (1 − α), in [0.5, 1). Default 0.95. */
  confidence?: number;
  /** δ of the ε lower bounds. Default 1e-5. */
  delta?: number;
  /** Each audited record was put in training by an independent fair coin: the ε bounds are a DP audit (with the one-run bound); otherwise they are labelled heuristic. Default false. */
  randomisedMembership?: boolean;
}

/** Options; an unknown key is an error. */
/** How image folders become the model's input, in torchvision's order. */
export interface ImageOptions {
  /** [height, width] to resize to (PIL bilinear) before the crop. Default: none; an image whose size differs from the model's (and no crop) is resized to it. */
  resize?: [number, number] | null;
  /** [height, width] of a centre crop after the resize. */
  centerCrop?: [number, number] | null;
  /** "unit" (÷255, ToTensor(); default) or "byte" (0..255). */
  range?: "unit" | "byte";
  /** "none" (default) or "imagenet" (mean 0.485, 0.456, 0.406; std 0.229, 0.224, 0.225). */
  normalize?: "none" | "imagenet";
  /** Per-channel mean, with std, instead of a preset. */
  mean?: number[] | null;
  /** Per-channel standard deviation, with mean. */
  std?: number[] | null;
  /** "auto" (default), "nchw" or "nhwc". */
  layout?: "auto" | "nchw" | "nhwc";
  /** Class names in label order; default the sorted folder names. */
  classes?: string[] | null;
}

export interface AuditOptions {
  /** CSV label column. Default "label". */
  labelColumn?: string;
  /** CSV column to ignore. */
  idColumn?: string;
  /** Features are fed as x * scale + shift. Default 1. */
  scale?: number;
  /** Default 0. */
  shift?: number;
  /** Default: the four threshold attacks. */
  attacks?: Array<AttackName | AttackGroup>;
  /** Default "auto": WebGPU if available, else the CPU (the report says which ran). */
  backend?: "auto" | "gpu" | "cpu";
  /** Outputs-only mode: how to read outputs. Default "auto". */
  outputs?: "auto" | "logits" | "probabilities";
  /** Number of reference models to train (even). Default 4. */
  references?: number;
  /** Default "offline". */
  mode?: "offline" | "online";
  /** Seed of every random choice. Default 0. */
  seed?: number;
  training?: TrainingOptions;
  /** Image folders and zips: preprocessing. */
  image?: ImageOptions;
  /** Offline RMIA's a in [0, 1], or "tune" (default). */
  rmiaA?: number | "tune";
  /** RMIA's γ. Default 1. */
  rmiaGamma?: number;
  /** Share of non-members held out as population when none is given. Default 0.5. */
  holdout?: number;
  /** Intervals and ε bounds. */
  statistics?: StatisticsOptions;
  /** A release gate, e.g. "tpr@0.001 > 0.02, auc > 0.6, epsilon > 4": `report.verdict.gate` says whether any condition holds. */
  failIf?: string;
  /** How many of the most exposed members (and as many false positives) the report lists. Default 20. */
  exposed?: number;
  /** Metrics per slice (class, correct or not, loss quartile, slice column). Default true. */
  slices?: boolean;
  /** A CSV column whose values group the records into slices (not a feature). */
  sliceColumn?: string;
  /** Drop the non-members that copy a member (exactly, or nearly for images). Default false. */
  dropDuplicates?: boolean;
  /** The graph output holding the class scores, when the model has several (a scikit-learn export's probabilities beside its label). Default: chosen by privaudit. */
  output?: string;
  /** false: neither reuse nor keep trained references in IndexedDB. Default true. */
  cache?: boolean;
  /** Without WebGPU: at most this many Web Workers train the references side by side (1: one after another in the engine's worker). Default: one per core, up to the number of references and 8. */
  workers?: number;
}

export interface Progress {
  stage: "read" | "model" | "device" | "inference" | "train" | "references" | "attacks" | "done";
  /** 0..1 */
  fraction: number;
  message: string;
}

export interface AuditRequest extends AuditOptions {
  model?: FileLike;
  modelData?: FileLike;
  members?: FileLike;
  nonmembers?: FileLike;
  population?: FileLike;
  membersLabels?: FileLike;
  nonmembersLabels?: FileLike;
  populationLabels?: FileLike;
  memberOutputs?: FileLike;
  nonmemberOutputs?: FileLike;
  populationOutputs?: FileLike;
  /** Labels of NPY outputs (a 1-D NPY), as for the data files. */
  memberOutputsLabels?: FileLike;
  nonmemberOutputsLabels?: FileLike;
  populationOutputsLabels?: FileLike;
  referenceModels?: Array<FileLike | { model: FileLike; modelData?: FileLike }>;
  referenceOutputs?: FileLike[];
  referenceMembership?: FileLike;
  /** A CSV of slice values: set,row,<name> (tables) or set,id,<name> (images by path), one line per audited record. */
  sliceFile?: FileLike;
  onProgress?: (p: Progress) => void;
  /** Cancels this audit alone: its promise rejects with an AbortError; other callers' audits go on. */
  signal?: AbortSignal;
}

export interface AttackResult {
  name: AttackName;
  auc: number;
  /** Best TPR among operating points with FPR ≤ the key. */
  tpr_at_fpr: { "0.1": number; "0.01": number; "0.001": number; "0": number };
  advantage: number;
  ppv: number | null;
  /** "member iff score ≥ this" at the best advantage; null when no threshold beats flagging nobody. */
  best_threshold: number | null;
  roc: { fpr: number[]; tpr: number[] };
  histogram: { edges: number[]; members: number[]; nonmembers: number[] };
  /** Bootstrap intervals [lo, hi] at the report's confidence; null with no resamples. */
  ci: {
    auc: [number, number];
    tpr_at_fpr: { "0.1": [number, number]; "0.01": [number, number]; "0.001": [number, number]; "0": [number, number] };
    advantage: [number, number];
  } | null;
  /** A pointwise bootstrap band around the ROC (FPR grid from 1/N to 1); null with `ci`. */
  roc_band: { fpr: number[]; lo: number[]; hi: number[] } | null;
  /** Lower bounds on ε, each with the largest value these counts could show. */
  epsilon: EpsilonBounds;
  parameters: Record<string, number | boolean | string>;
}

export interface EpsilonBounds {
  /** Clopper–Pearson bounds at every threshold, Bonferroni-corrected over them. */
  roc: {
    epsilon: number;
    ceiling: number;
    thresholds: number;
    threshold: number | null;
    rule: "tpr" | "tnr" | null;
    tpr_lb: number | null;
    fpr_ub: number | null;
  };
  /** Gaussian DP μ̂ and the ε it implies at δ (null at δ = 0). */
  gdp: { mu: number; mu_ceiling: number; epsilon: number | null; epsilon_ceiling: number | null };
  /** Steinke et al. 2023; only when membership was randomised. */
  one_run: { epsilon: number; ceiling: number; guesses: number; correct: number; grid: number[] } | null;
}

export interface StatisticsInfo {
  confidence: number;
  delta: number;
  bootstrap_resamples: number;
  interval_method: string;
  /** 1 / non-members: the smallest non-zero FPR these records can show. */
  min_measurable_fpr: number;
  /** FPR levels below it (their TPR is the TPR at zero false positives). */
  unmeasurable_fpr_levels: string[];
  membership: "randomised" | "fixed";
  epsilon_basis: "dp_audit" | "heuristic";
  epsilon_note: string;
}

export interface ReferenceModelInfo {
  index: number;
  train_records: number;
  accuracy_train: number | null;
  accuracy_test: number | null;
  loss: number[];
}

export interface ReferenceInfo {
  /** shared: trained for the float model of this architecture compared with this QDQ-quantised one. */
  source: "trained" | "shared" | "models" | "outputs";
  count: number;
  mode: "offline" | "online";
  seed: number;
  training: Required<TrainingOptions> | null;
  membership: string;
  models: ReferenceModelInfo[];
  training_seconds: number | null;
  /** How the references trained here ran: side by side on CPU threads or Web Workers (how many, and why), or one at a time on the GPU. */
  parallelism?: string;
  cached: boolean;
}

export interface AuditReport {
  schema_version: 7;
  tool: { name: "privaudit"; version: string };
  backend: "webgpu" | "wgpu" | "cpu";
  backend_note: string | null;
  /** What ran the model, in words, and why it was chosen ("auto" never picks a software GPU adapter over the CPU). */
  device: string;
  model: {
    format: "onnx" | "outputs";
    opset: number | null;
    parameters: number | null;
    accuracy_members: number;
    accuracy_nonmembers: number;
    generalization_gap: number;
    outputs: "logits" | "probabilities";
  };
  data: {
    members: number;
    nonmembers: number;
    population: number | null;
    population_source: string | null;
    features: number | null;
    classes: number;
    /** Present when the records are image folders. */
    images?: { class_names: string[]; preprocessing: string[]; skipped_files: number };
  };
  references: ReferenceInfo | null;
  statistics: StatisticsInfo;
  attacks: AttackResult[];
  warnings: string[];
  verdict: {
    /** Plain-language sentences, most important first. */
    summary: string[];
    fpr_level: "0.1" | "0.01" | "0.001" | "0";
    /**
     * What the evidence shows, from every valid attack's intervals at `confidence`:
     * "identifiable" (a TPR at `fpr_level` measurably above the level), "on_average" (else an
     * AUC measurably above 0.5), "none", "untested" (no intervals) or "no_valid_attack".
     */
    grade: "identifiable" | "on_average" | "none" | "untested" | "no_valid_attack";
    /** The attack the first sentence names; it ranks the exposed records. */
    strongest_attack: string;
    members_identified: number;
    /** `grade` is "identifiable" or "on_average". */
    leak_measured: boolean;
    attacks_considered: string[];
    /** Attacks the report declares invalid (e.g. references that did not learn), left out of the verdict. */
    excluded: { attack: string; reason: string }[];
    /** 1 − α/A for the A considered attacks (Bonferroni); null without intervals. */
    confidence: number | null;
    /** The considered attacks' AUC and TPR-at-`fpr_level` intervals at `confidence`. */
    evidence: { attack: string; auc: [number, number]; tpr: [number, number] }[];
    /** The largest ROC ε bound over the considered attacks, each at α/A. */
    epsilon: { epsilon: number; attack: string; ceiling: number; attacks: number } | null;
    gate: { expression: string; passed: boolean; conditions: { condition: string; value: number; attack: string | null; crossed: boolean }[] } | null;
  };
  provenance: {
    /** UTC, ISO 8601. */
    created: string;
    engine: string;
    inputs: { role: string; name: string; bytes: number; sha256: string; files: number | null; records: number | null }[];
    options: AuditOptions;
  };
  /** The members the strongest attack (the verdict's) is most sure of, and the non-members it takes for members. */
  exposure: { attack: string; members: ExposedRecord[]; false_positives: ExposedRecord[]; percentile_note: string };
  /** Every attack's metrics per slice; each equals an audit of that slice alone. */
  slices: Slice[];
  /** Duplicate records; null in outputs-only mode. */
  duplicates: DuplicateInfo | null;
}

export interface ExposedRecord {
  set: "members" | "nonmembers";
  /** 1-based data row in its set. */
  row: number;
  /** An image's path. */
  id: string | null;
  /** 1 + the number of audited records the ranking attack scores strictly higher. */
  rank: number;
  label: number;
  predicted: number;
  correct: boolean;
  loss: number;
  scores: Record<string, number>;
  /** Each score as a percentile (0–100) of the non-members' scores of that attack. */
  percentiles: Record<string, number>;
  /** First feature values as the model received them (tables). */
  preview: number[];
  /** With reference models: the target's φ among the references' φ (in: trained on it). */
  references: { target: number; in: number[]; out: number[] } | null;
}

export interface Slice {
  kind: "class" | "correctness" | "loss_quartile" | "column";
  name: string;
  members: number;
  nonmembers: number;
  /** Fewer than 50 members or non-members. */
  small: boolean;
  attacks: {
    name: string;
    auc: number;
    tpr_at_fpr: { "0.1": number; "0.01": number; "0.001": number; "0": number };
    advantage: number;
    ppv: number | null;
    ci: AttackResult["ci"];
    epsilon: number;
  }[];
  /** Why there are no metrics. */
  note: string | null;
}

export interface RecordRef { set: "members" | "nonmembers"; row: number; id: string | null }

export interface DuplicateInfo {
  method: string;
  exact_within_members: number;
  exact_members_in_nonmembers: number;
  /** Images only; null for tables. */
  near_within_members: number | null;
  near_members_in_nonmembers: number | null;
  capped_buckets: number;
  examples: { kind: "exact" | "near"; a: RecordRef; b: RecordRef; hash_distance: number | null }[];
  dropped_nonmembers: number;
  /** Wall time of the search, in seconds. */
  seconds: number;
  exposure: {
    attack: string;
    duplicated: number;
    unique: number;
    auc_duplicated: number | null;
    auc_unique: number | null;
    mean_percentile_duplicated: number | null;
    mean_percentile_unique: number | null;
  } | null;
}

export interface AuditResult {
  report: AuditReport;
  reportJson: string;
  /** The self-contained HTML report, as the CLI's `--html` writes it (no scripts, no external resources). */
  reportHtml: string;
  /** The terms of the tables explained: `[term, explanation]` pairs. */
  glossary: [string, string][];
  /** set,row,[id,]label,member,<attack>…,model_loss,model_predicted,model_correct,rank */
  scoresCsv: string;
  rocSvg: string;
  histogramSvgs: string[];
  /** The AUC per slice with its interval (empty without slices). */
  slicesSvg: string;
  /** One sentence on the duplicates (empty in outputs-only mode). */
  duplicatesNote: string;
  /** How the intervals were computed and which FPR levels are below 1/N (the CLI's sentence). */
  statisticsNote: string;
  /** What the ε bounds assume here (heuristic or a DP audit) and their ceilings (the CLI's sentence). */
  epsilonNote: string;
}

/** One model of a comparison: a model file, or `{ name?, model, modelData? }`. */
export type CompareModelInput = FileLike | { name?: string; model: FileLike; modelData?: FileLike };

export interface CompareRequest extends Omit<AuditRequest, "model" | "modelData" | "memberOutputs" | "nonmemberOutputs" | "populationOutputs"> {
  /** 2 to 16 models audited on the same records (the first is the baseline of the table). */
  models: CompareModelInput[];
}

export interface CompareRow {
  name: string;
  model: string;
  sha256: string;
  /** QDQ-quantised: it shares the references of the first float model. */
  quantised: boolean;
  accuracy_members: number;
  accuracy_nonmembers: number;
  generalization_gap: number;
  /** The highest AUC over the attacks, its interval and attack. */
  auc: number;
  auc_ci: [number, number] | null;
  auc_attack: string;
  /** The highest TPR at `fpr_level`, its interval and attack. */
  tpr: number;
  tpr_ci: [number, number] | null;
  tpr_attack: string;
  /** The ROC ε lower bound over all attacks (each at α/A), and the largest these counts could show. */
  epsilon: number | null;
  epsilon_ceiling: number | null;
  /** trained, reused (same architecture), shared (QDQ), the user's, or none. */
  references: string;
}

/** The comparison (schema/comparison.schema.json). */
export interface Comparison {
  schema_version: 1;
  tool: { name: "privaudit"; version: string };
  fpr_level: "0.1" | "0.01" | "0.001" | "0";
  confidence: number;
  rows: CompareRow[];
  warnings: string[];
  /** Each model's report: equal to its single audit. */
  reports: AuditReport[];
}

export interface CompareResult {
  comparison: Comparison;
  comparisonJson: string;
  /** The self-contained HTML page, as the CLI's `compare --html` writes it. */
  comparisonHtml: string;
  /** Accuracy on non-members against the highest AUC, one point per model. */
  svg: string;
  /** Each model's audit, as runAudit gives it. */
  audits: AuditResult[];
}

/** Start the engine (its worker and wasm) once; later calls return the same promise. */
export default function init(): Promise<void>;
/** Run an audit; resolves to the report. Rejects with an Error naming the file, place and what was expected. */
export function audit(request: AuditRequest): Promise<AuditReport>;
/** Run an audit and get the report with its renderings. */
export function runAudit(request: AuditRequest): Promise<AuditResult>;
/** Audit several models on the same records; resolves to the comparison. */
export function compare(request: CompareRequest): Promise<Comparison>;
/** Audit several models on the same records, with every rendering. */
export function runCompare(request: CompareRequest): Promise<CompareResult>;

/**
 * The images named `ids` (the scores CSV's `id` column) in an image zip, read with the engine's
 * own zip reader so the paths are the audit's: one Blob (typed by its extension) or null per id.
 */
export function zipImages(zip: FileLike, ids: string[]): Promise<(Blob | null)[]>;

/** The <privacy-audit> element (registered by importing "privaudit/widget"). */
export interface PrivacyAuditElement extends HTMLElement {
  /** A preset model: the model role reads "set by this page". */
  model: FileLike | null;
  readonly report: AuditReport | null;
  readonly options: AuditOptions;
  /**
   * With `compareModels`, the models are compared (the "comparison" event) and the first one's
   * report resolves. A running audit is cancelled first. `title` heads the report.
   */
  audit(request?: AuditRequest & { compareModels?: FileLike[] }, shown?: { title?: string }): Promise<AuditReport>;
  cancel(): void;
  /** Scroll to the report and focus it; false when there is none. */
  showReport(): boolean;
  addEventListener(type: "comparison", listener: (e: CustomEvent<Comparison>) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: "progress", listener: (e: CustomEvent<Progress>) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: "report", listener: (e: CustomEvent<AuditReport>) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: "error", listener: (e: CustomEvent<{ message: string }>) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap {
    "privacy-audit": PrivacyAuditElement;
  }
}
