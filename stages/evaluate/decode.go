package evaluate

import "github.com/leadflow/leadflow/schemas"

// The stage's three decode levels of a lead change, in one place: the
// head (routing and claims), the company's JSON (the miss cache), and the
// change with or without its sessions (the filters and the subject).

// decodeHead decodes the head of a lead change.
func decodeHead(value []byte, head *schemas.ChangeHead) error {
	return schemas.DecodeChangeHead(value, head)
}

// companyJSON returns the company's JSON as the change carries it.
func companyJSON(value []byte) ([]byte, error) { return schemas.ChangeCompanyJSON(value) }

// decodeChange decodes the whole change (full) or the change without its
// sessions (most of its bytes). Its strings are the record's bytes
// (schemas.DecodeChangeShared): the stage is a pipeline.RecordRecycler,
// and nothing of a change outlives its batch but hashes (the fired and
// miss caches) and copies (the requests, the claims, the Redis keys the
// session store caches by).
func decodeChange(value []byte, ch *change, full bool) error {
	return schemas.DecodeChangeShared(value, &ch.LeadChange, !full)
}
