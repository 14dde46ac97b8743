// Types for the haul.dev/v1alpha1 objects the REST API returns. They mirror
// api/v1alpha1/*_types.go; only the fields the dashboard reads are listed.

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface FreightOrigin {
  kind: string;
  name: string;
}

export interface Image {
  repoURL: string;
  tag?: string;
  digest?: string;
}

export interface GitCommit {
  repoURL: string;
  id: string;
  branch?: string;
  tag?: string;
  message?: string;
  author?: string;
}

export interface Chart {
  repoURL: string;
  name?: string;
  version: string;
}

export interface Project {
  metadata: ObjectMeta;
  status?: {
    conditions?: Condition[];
    stats?: { warehouses?: number; stages?: number; healthyStages?: number; freight?: number };
  };
}

export interface Link {
  name: string;
  url: string;
}

export interface ProjectConfig {
  metadata: ObjectMeta;
  spec?: {
    promotionPolicies?: { stageSelector?: { name?: string }; autoPromotionEnabled?: boolean }[];
    freightLinks?: Link[];
    stageLinks?: Link[];
  };
}

export interface Subscription {
  name?: string;
  image?: { repoURL: string };
  git?: { repoURL: string; branch?: string };
  chart?: { repoURL: string; name?: string };
}

export interface Warehouse {
  metadata: ObjectMeta;
  spec: { interval?: string; subscriptions?: Subscription[]; freightCreationPolicy?: string };
  status?: {
    conditions?: Condition[];
    lastFreightID?: string;
    discoveredArtifacts?: {
      discoveredAt?: string;
      images?: {
        repoURL: string;
        platform?: string;
        references?: { tag: string; digest: string; createdAt?: string }[];
      }[];
      git?: {
        repoURL: string;
        commits?: { id: string; tag?: string; branch?: string; subject?: string; author?: string; committerDate?: string }[];
      }[];
      charts?: { repoURL: string; name?: string; versions?: string[] }[];
    };
  };
}

export interface FreightRequest {
  origin: FreightOrigin;
  sources: { direct?: boolean; stages?: string[]; availabilityStrategy?: "OneOf" | "All"; requiredSoakTime?: string };
}

export interface FreightReference {
  name: string;
  alias?: string;
  origin?: FreightOrigin;
  images?: Image[];
  commits?: GitCommit[];
  charts?: Chart[];
}

export interface StepExecutionMetadata {
  alias: string;
  startedAt?: string;
  finishedAt?: string;
  errorCount?: number;
  status?: string;
  message?: string;
}

export interface VerificationResult {
  id: string;
  phase: string;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
  steps?: StepExecutionMetadata[];
}

export interface FreightCollection {
  id: string;
  items?: Record<string, FreightReference>;
  promotedAt?: string;
  promotion?: string;
  verificationHistory?: VerificationResult[];
}

export interface PromotionReference {
  name: string;
  freight?: string;
  freightAlias?: string;
  phase?: string;
  finishedAt?: string;
}

export interface Stage {
  metadata: ObjectMeta;
  spec: {
    requestedFreight: FreightRequest[];
    promotionTemplate?: { spec: { steps: { uses?: string; as?: string }[] } };
    verification?: unknown;
  };
  status?: {
    conditions?: Condition[];
    freightHistory?: FreightCollection[];
    health?: { status?: string; issues?: string[]; checkedAt?: string };
    currentPromotion?: PromotionReference;
    lastPromotion?: PromotionReference;
    autoPromotionEnabled?: boolean;
    freightSummary?: string;
  };
}

export interface Freight {
  metadata: ObjectMeta;
  alias?: string;
  origin: FreightOrigin;
  images?: Image[];
  commits?: GitCommit[];
  charts?: Chart[];
  status?: {
    currentlyIn?: Record<string, { since?: string }>;
    verifiedIn?: Record<string, { verifiedAt?: string; longestSoak?: string }>;
    approvedFor?: Record<string, { approvedAt?: string; approvedBy?: string }>;
  };
}

export interface Promotion {
  metadata: ObjectMeta;
  spec: { stage: string; freight: string };
  status?: {
    phase?: string;
    message?: string;
    freight?: FreightReference;
    currentStep?: number;
    stepExecutionMetadata?: StepExecutionMetadata[];
    state?: Record<string, unknown>;
    startedAt?: string;
    finishedAt?: string;
  };
}

export interface Permissions {
  promote: boolean;
  approve: boolean;
  refresh: boolean;
  admin: boolean;
}

export interface WhoAmI {
  username: string;
  groups?: string[];
}

export interface AuthConfig {
  oidc: boolean;
  localToken: boolean;
}

export interface List<T> {
  items: T[];
}

/** The kinds the project event stream reports changes for. */
export type Kind = "Stage" | "Freight" | "Promotion" | "Warehouse" | "Project";

/** One change from the project event stream. */
export interface Change {
  type: "upsert" | "delete";
  kind: Kind;
  name: string;
  object?: unknown;
}
