package rollout

// Event kinds, as history and webhooks name them.
const (
	EventStarted           = "started"
	EventStep              = "step"
	EventPaused            = "paused"
	EventResumed           = "resumed"
	EventRolledBack        = "rolled_back"
	EventPromoted          = "promoted"
	EventAborted           = "aborted"
	EventWeightSet         = "weight_set"
	EventIgnored           = "ignored"
	EventGateFailed        = "gate_failed"
	EventControllerStarted = "controller_started"
	// EventInterrupted: the controller was stopped before the rollout ended.
	EventInterrupted = "interrupted"
	// EventDeadline: a step's max_duration passed before its gates did.
	EventDeadline = "deadline"
	// EventInsufficient: the hold is served but a gate still lacks
	// evidence (or the fleet cannot be measured); once per step.
	EventInsufficient = "insufficient_evidence"
	// EventMirrorsMissing: some mirrors stopped answering (or came back);
	// the step goes on while the rest are a quorum.
	EventMirrorsMissing = "mirrors_missing"
	// EventDryRunFailed: a dry-run gate failed; nothing rolls back.
	EventDryRunFailed = "dry_run_failed"
	// EventPlanChanged: the rollout goes on under a changed plan.
	EventPlanChanged = "plan_changed"
)

// Phases besides holding and judging.
const (
	PhaseOperator = "operator" // paused by an operator
	PhaseDeadline = "deadline" // paused at a step's deadline: resume to re-enter the step
)
