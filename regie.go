// Package regie holds what every part of the service shares: the application
// error type with its stable codes, money in integer cents, civil dates of care,
// units of care, and the authenticated principal with its role and scope.
//
// Domain packages (voucher, matching, settlement) build on these types; adapters
// (store/..., web) translate them to and from their own representations. This
// package imports nothing but the standard library and shopspring/decimal.
package regie
