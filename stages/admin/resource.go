package admin

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/leadflow/leadflow/stages/control"
)

// resource is the create/list/get/patch/delete of one kind of entity.
type resource[T control.Entity] struct {
	kind control.Kind
	// find and all read a workspace snapshot.
	find func(w *control.Workspace, id string) (T, bool)
	all  func(w *control.Workspace) []T
	// precheck runs before the workspace lock is taken, for slow checks
	// that do not depend on other entities (resolving a webhook's host).
	precheck func(ctx context.Context, a *api, o *object)
	// build returns the entity a create (cur nil) or a patch (cur the
	// current entity) asks for, with UpdatedAt zero (Put stamps it). It
	// runs under the workspace lock with snap, the workspace's current
	// snapshot, to check references. Errors are *Error.
	build func(a *api, snap *control.Workspace, ws string, cur *T, o *object) (T, *Error)
	// untouched returns e with UpdatedAt zero, to tell whether a patch
	// changes anything.
	untouched func(e T) T
}

func (res resource[T]) notFound(ws, id string) *Error {
	return errorf(http.StatusNotFound, CodeNotFound, "no %s %q in workspace %q", res.kind, id, ws)
}

func (res resource[T]) create(a *api) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ws, aerr := workspace(r)
		if aerr != nil {
			return aerr
		}
		o, aerr := readObject(w, r, a.d.MaxBodyBytes)
		if aerr != nil {
			return aerr
		}
		e, err := res.createObject(r.Context(), a, ws, o)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, e)
		return nil
	}
}

// createObject creates the entity o describes in ws and returns it as
// stored. Errors are *Error, or others for a 500.
func (res resource[T]) createObject(ctx context.Context, a *api, ws string, o *object) (T, error) {
	var zero T
	if res.precheck != nil {
		res.precheck(ctx, a, o)
	}
	defer a.lock(ws)()
	e, aerr := res.build(a, a.d.Store.Workspace(ws), ws, nil, o)
	if aerr != nil {
		return zero, aerr
	}
	if err := a.write(ctx, func(ctx context.Context) error { return a.d.Store.Put(ctx, e) }); err != nil {
		return zero, err
	}
	return res.stored(a, ws, e), nil
}

// stored is e as this process now has it (read-your-writes), or e if
// another process already deleted it.
func (res resource[T]) stored(a *api, ws string, e T) T {
	if got, ok := res.find(a.d.Store.Workspace(ws), e.Ref().ID); ok {
		return got
	}
	return e
}

func (res resource[T]) list(a *api) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ws, aerr := workspace(r)
		if aerr != nil {
			return aerr
		}
		data := res.all(a.d.Store.Workspace(ws))
		if data == nil {
			data = []T{}
		}
		writeJSON(w, http.StatusOK, struct {
			Data []T `json:"data"`
		}{data})
		return nil
	}
}

func (res resource[T]) get(a *api) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ws, aerr := workspace(r)
		if aerr != nil {
			return aerr
		}
		id := r.PathValue("id")
		e, ok := res.find(a.d.Store.Workspace(ws), id)
		if !ok {
			return res.notFound(ws, id)
		}
		writeJSON(w, http.StatusOK, e)
		return nil
	}
}

func (res resource[T]) patch(a *api) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ws, aerr := workspace(r)
		if aerr != nil {
			return aerr
		}
		id := r.PathValue("id")
		if _, ok := res.find(a.d.Store.Workspace(ws), id); !ok {
			return res.notFound(ws, id) // before reading the body: a 404 beats a 422
		}
		o, aerr := readObject(w, r, a.d.MaxBodyBytes)
		if aerr != nil {
			return aerr
		}
		e, err := res.patchObject(r.Context(), a, ws, id, o)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, e)
		return nil
	}
}

// patchObject changes the fields o names of the entity id in ws and
// returns it as stored; a patch that changes nothing writes nothing.
func (res resource[T]) patchObject(ctx context.Context, a *api, ws, id string, o *object) (T, error) {
	var zero T
	if res.precheck != nil {
		res.precheck(ctx, a, o)
	}
	defer a.lock(ws)()
	snap := a.d.Store.Workspace(ws)
	cur, ok := res.find(snap, id)
	if !ok {
		return zero, res.notFound(ws, id)
	}
	e, aerr := res.build(a, snap, ws, &cur, o)
	if aerr != nil {
		return zero, aerr
	}
	if reflect.DeepEqual(e, res.untouched(cur)) {
		return cur, nil // nothing changes: no write
	}
	if err := a.write(ctx, func(ctx context.Context) error { return a.d.Store.Put(ctx, e) }); err != nil {
		return zero, err
	}
	return res.stored(a, ws, e), nil
}

func (res resource[T]) delete(a *api) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ws, aerr := workspace(r)
		if aerr != nil {
			return aerr
		}
		if err := res.deleteID(r.Context(), a, ws, r.PathValue("id")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// deleteID deletes the entity id of ws, unless automations use it (409).
func (res resource[T]) deleteID(ctx context.Context, a *api, ws, id string) error {
	defer a.lock(ws)()
	snap := a.d.Store.Workspace(ws)
	e, ok := res.find(snap, id)
	if !ok {
		return res.notFound(ws, id)
	}
	ref := e.Ref()
	if users := snap.AutomationsUsing(ref); len(users) > 0 {
		ids := make([]string, len(users))
		for i, u := range users {
			ids[i] = u.ID
			if u.Name != "" {
				ids[i] = fmt.Sprintf("%s (%q)", u.ID, u.Name)
			}
		}
		return errorf(http.StatusConflict, CodeConflict,
			"%s %s is used by automation %s: delete those automations or change them to use another %s first",
			res.kind, id, strings.Join(ids, ", "), res.kind)
	}
	return a.write(ctx, func(ctx context.Context) error { return a.d.Store.Delete(ctx, ref) })
}

// checkRef records an error on field when id (already well-formed) names
// no entity of kind in snap.
func checkRef(o *object, snap *control.Workspace, field string, kind control.Kind, id string) {
	if id == "" {
		return
	}
	if _, bad := o.errs[field]; bad {
		return
	}
	var ok bool
	switch kind {
	case control.KindWebhook:
		_, ok = snap.Webhook(id)
	case control.KindSegment:
		_, ok = snap.Segment(id)
	case control.KindPersona:
		_, ok = snap.Persona(id)
	}
	if !ok {
		o.errs[field] = fmt.Sprintf("no %s %q in this workspace", kind, id)
	}
}

// validate merges e's own validation into o and returns the 422, if any.
func validate(o *object, e control.Entity) *Error {
	if err := e.Validate(); err != nil {
		if ie, ok := err.(*control.InvalidError); ok {
			o.merge(ie.Fields)
		} else {
			o.merge(map[string]string{"": err.Error()})
		}
	}
	return o.err()
}
