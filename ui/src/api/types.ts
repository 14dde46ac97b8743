// Types for what the REST API returns. The haul.dev/v1alpha1 objects come from
// generated.ts (written by hack/tsapi from the CRD schemas); the names below are
// the parts of them the dashboard passes around, plus the REST API's own shapes.

import type { Freight, ObjectMeta, Project, ProjectConfig, Promotion, Stage, Warehouse } from "./generated";

export type { Freight, ObjectMeta, Project, ProjectConfig, Promotion, Stage, Warehouse };

/** The element type of a list field. */
type Item<T> = T extends readonly (infer U)[] ? U : never;
/** A field's type without undefined. */
type Def<T> = NonNullable<T>;

export type Condition = Item<Def<Def<Stage["status"]>["conditions"]>>;
export type FreightOrigin = Freight["origin"];
export type Image = Item<Def<Freight["images"]>>;
export type GitCommit = Item<Def<Freight["commits"]>>;
export type Chart = Item<Def<Freight["charts"]>>;
export type Link = Item<Def<Def<ProjectConfig["spec"]>["freightLinks"]>>;
export type Subscription = Item<Warehouse["spec"]["subscriptions"]>;
export type FreightRequest = Item<Stage["spec"]["requestedFreight"]>;
export type FreightCollection = Item<Def<Def<Stage["status"]>["freightHistory"]>>;
export type FreightReference = Def<FreightCollection["items"]>[string];
export type VerificationResult = Item<Def<FreightCollection["verificationHistory"]>>;
export type StepExecutionMetadata = Item<Def<Def<Promotion["status"]>["stepExecutionMetadata"]>>;
export type PromotionReference = Def<Def<Stage["status"]>["lastPromotion"]>;

/** What GET /projects/{p}/permissions says the caller may do in the project. */
export interface Permissions {
  promote: boolean;
  approve: boolean;
  /** Pause and resume Stages (the custom verb pause). */
  pause: boolean;
  /** Promote through closed promotion windows, giving a reason (the custom verb override). */
  override: boolean;
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
  /** How many there are when the server was asked for fewer (?limit=). */
  total?: number;
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
