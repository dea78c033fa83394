package matching

// Scan is the search without an index, for tests that compare the two.
var Scan = scan

// Normalise applies the query's defaults and checks it, as Search does.
func (q *Query) Normalise() error { return q.normalise() }
