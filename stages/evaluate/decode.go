package evaluate

import "github.com/leadflow/leadflow/schemas"

// The stage's three decode levels of a lead change, in one place: the
// head (routing and claims), the company's JSON as the change carries it
// (the miss cache: by reference, its name and domain, which name one
// record of the process's directory), and the change with or without its
// sessions (the filters and the subject).

// decodeHead decodes the head of a lead change.
func decodeHead(value []byte, head *schemas.ChangeHead) error {
	return schemas.DecodeChangeHead(value, head)
}

// companyJSON returns the company's JSON as the change carries it.
func companyJSON(value []byte) ([]byte, error) { return schemas.ChangeCompanyJSON(value) }

// decodeChange decodes the whole change (full) or the change without its
// sessions (most of its bytes), with its company completed from the
// company directory (schemas.LeadChange.CompanyRef). Its strings are the
// record's bytes (schemas.DecodeChangeShared) or the directory's: the
// stage is a pipeline.RecordRecycler, and nothing of a change outlives its
// batch but hashes (the fired and miss caches) and copies (the requests,
// the claims, the Redis keys the session store caches by).
func (s *Stage) decodeChange(value []byte, ch *change, full bool) error {
	if err := schemas.DecodeChangeShared(value, &ch.LeadChange, !full); err != nil {
		return err
	}
	if !ch.ResolveCompany(s.d.Companies.Company) {
		s.metrics.companyMissing.Inc()
	}
	return nil
}
