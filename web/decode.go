package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"

	"github.com/gofiber/fiber/v2"
	"github.com/regie-nl/regie"
)

// decodeJSON reads exactly one JSON object from the request body into v. It
// refuses another content type, unknown fields, trailing data and values of
// the wrong type, each with its own code, before anything is changed.
func decodeJSON(c *fiber.Ctx, v any) error {
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != fiber.MIMEApplicationJSON {
		return regie.Errorf(regie.Invalid, "content_type_unsupported", "send the body as application/json")
	}
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return regie.Errorf(regie.Invalid, "json_malformed", "the body holds more than one JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var appErr *regie.Error
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &appErr):
		return appErr
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return regie.Errorf(regie.Invalid, "json_malformed", "the body is not valid JSON")
	case errors.As(err, &typ):
		return regie.FieldError(typ.Field, "json_type", "field %q must be a JSON %s", typ.Field, typ.Type.Kind())
	}
	if msg := err.Error(); len(msg) > 20 && msg[:20] == "json: unknown field " {
		return regie.Errorf(regie.Invalid, "json_unknown_field", "%s", msg[6:])
	}
	return regie.Errorf(regie.Invalid, "json_malformed", "the body could not be read: %v", err)
}
