"""``/api/users/tokens/`` (your own API tokens; others' need admin) and ``/api/users/users/`` (admin).

A token's key is answered once, when it is created; only its hash is stored.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate
from sqlalchemy import select

from service.api.base import Blueprint, db_session, get_or_404
from service.api.fields import Computed, ModelSchema, ObjectUrl, brief, multi, object_type
from service.api.pagination import PageQuery, page_of, paginate
from service.api.related import id_or_name
from service.errors import ValidationError
from service.models import Token, User, utcnow
from service.users import create_token
from service.web.auth import Principal, current_principal, require

tokens_bp = Blueprint("tokens", __name__, url_prefix="/api/users/tokens", description="Your API tokens.")
users_bp = Blueprint("users", __name__, url_prefix="/api/users/users", description="Users (admin only).")


class TokenSchema(ModelSchema):
    object_type = object_type("Token")
    display = Computed(lambda token: f"…{token.display}")
    url = ObjectUrl("Token")
    user = brief("User")
    description = fields.String()
    write_enabled = fields.Boolean()
    expires = fields.DateTime(allow_none=True)
    last_used = fields.DateTime(dump_only=True, allow_none=True)
    created = fields.DateTime(dump_only=True)


class CreatedTokenSchema(TokenSchema):
    key = fields.String(dump_only=True, metadata={"description": "Shown only in this response."})


class TokenInputSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    description = fields.String(validate=validate.Length(max=200))
    write_enabled = fields.Boolean()
    expires = fields.AwareDateTime(allow_none=True)
    user = fields.String(metadata={"description": "Username or UUID of another user (admin only)."})


class TokenPatchSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    description = fields.String(validate=validate.Length(max=200))
    write_enabled = fields.Boolean()
    expires = fields.AwareDateTime(allow_none=True)


class TokenFilter(PageQuery):
    user = multi(fields.String(metadata={"description": "Username or UUID (admin only; default: you)."}))


class UserSchema(ModelSchema):
    object_type = object_type("User")
    url = ObjectUrl("User")
    username = fields.String()
    is_superuser = fields.Boolean()
    is_active = fields.Boolean()
    permissions = fields.List(fields.String())
    created = fields.DateTime()


class UserFilter(PageQuery):
    username = multi(fields.String())
    is_active = fields.Boolean()


def owned_token(session, principal: Principal, token_id) -> Token:
    """Load a token the caller may manage: their own, or anyone's with admin."""
    token = get_or_404(session, Token, token_id)
    if token.user_id != principal.user_id:
        require(principal, "admin")
    return token


def token_owner(session, principal: Principal, name: str | None) -> User:
    """The user a new token is for: the caller, or (admin only) the user named."""
    if name is None:
        return session.get(User, principal.user_id)
    user = session.scalar(select(User).where(id_or_name(User.id, (User.username,), [name])))
    if user is None:
        raise ValidationError({"user": [f"No user {name!r}."]})
    if user.id != principal.user_id:
        require(principal, "admin")
    return user


def check_expiry(session, principal: Principal, values: dict[str, Any]) -> None:
    """Refuse an expiry in the past, or one that outlives the token the caller is using."""
    if values.get("expires") is not None and values["expires"] <= utcnow():
        raise ValidationError({"expires": ["The expiry must be in the future."]})
    caller_token = session.get(Token, principal.token_id) if principal.token_id else None
    if caller_token is None or caller_token.expires is None:
        return
    if values.get("expires") is None or values["expires"] > caller_token.expires:
        raise ValidationError({"expires": [
            "A token cannot outlive the token used to set it: "
            f"expire by {caller_token.expires.isoformat()}."]})


@tokens_bp.get("/")
@tokens_bp.arguments(TokenFilter, location="query", as_kwargs=False)
@tokens_bp.response(200, page_of(TokenSchema))
def list_tokens(args):
    """List your tokens (an admin may ask for other users')."""
    principal = current_principal()
    statement = select(Token).order_by(Token.created, Token.id)
    if args.get("user"):
        require(principal, "admin")
        statement = statement.where(Token.user_id.in_(
            select(User.id).where(id_or_name(User.id, (User.username,), args["user"]))))
    else:
        statement = statement.where(Token.user_id == principal.user_id)
    return paginate(db_session(), statement, args)


@tokens_bp.post("/")
@tokens_bp.arguments(TokenInputSchema)
@tokens_bp.response(201, CreatedTokenSchema)
def create_api_token(values):
    """Create a token; its key is in this response only."""
    session = db_session()
    check_expiry(session, current_principal(), values)
    user = token_owner(session, current_principal(), values.get("user"))
    token, key = create_token(session, user, description=values.get("description", ""),
                              write_enabled=values.get("write_enabled", True), expires=values.get("expires"))
    session.commit()
    token.key = key  # a plain attribute for this response only: never a column
    return token


@tokens_bp.get("/<uuid:token_id>/")
@tokens_bp.response(200, TokenSchema)
def retrieve_token(token_id):
    """Show one of your tokens."""
    return owned_token(db_session(), current_principal(), token_id)


@tokens_bp.patch("/<uuid:token_id>/")
@tokens_bp.arguments(TokenPatchSchema(partial=True))
@tokens_bp.response(200, TokenSchema)
def update_token(values, token_id):
    """Change a token's description, expiry or write permission."""
    session = db_session()
    token = owned_token(session, current_principal(), token_id)
    if "expires" in values:
        check_expiry(session, current_principal(), values)
    for name in ("description", "write_enabled", "expires"):
        if name in values:
            setattr(token, name, values[name])
    session.commit()
    return token


@tokens_bp.delete("/<uuid:token_id>/")
@tokens_bp.response(204)
def delete_token(token_id):
    """Delete (revoke) a token."""
    session = db_session()
    session.delete(owned_token(session, current_principal(), token_id))
    session.commit()


@users_bp.get("/")
@users_bp.arguments(UserFilter, location="query", as_kwargs=False)
@users_bp.response(200, page_of(UserSchema))
def list_users(args):
    """List users (admin)."""
    statement = select(User).order_by(User.username)
    if args.get("username"):
        statement = statement.where(User.username.in_(args["username"]))
    if args.get("is_active") is not None:
        statement = statement.where(User.is_active.is_(args["is_active"]))
    return paginate(db_session(), statement, args)


@users_bp.get("/<uuid:user_id>/")
@users_bp.response(200, UserSchema)
def retrieve_user(user_id):
    """Show one user (admin)."""
    return get_or_404(db_session(), User, user_id)
