package mirror

// Why a request was not compared: the skip reasons the mirror counts.
const (
	ReasonUpgrade       = "upgrade"        // a tunnel (WebSocket and the like): never compared
	ReasonSampledOut    = "sampled_out"    // the user is outside --sample
	ReasonUnsafe        = "unsafe"         // an unsafe method without --unsafe
	ReasonBodyOverCap   = "body_over_cap"  // a request or answer body over --max-body
	ReasonBodyBudget    = "body_budget"    // bodies in flight already hold the byte budget
	ReasonQueueFull     = "queue_full"     // the shadow queue is full: dropped to protect clients
	ReasonShutdown      = "shutdown"       // the mirror stopped before the shadow answered
	ReasonClientAborted = "client_aborted" // the client went away before its answer was whole
	ReasonClientError   = "client_error"   // the client sent a malformed body (400, like NGINX)
)
