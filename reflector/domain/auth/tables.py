"""PostgreSQL tables of the auth module: people and their API keys (hashes only)."""

from piccolo.columns import ForeignKey, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from reflector.domain.ids import new_id, now


class User(Table, tablename="user"):
    id = Varchar(length=36, primary_key=True, default=new_id)
    # The identity provider's subject; unique, and null for the local user of AUTH_BACKEND=none.
    sub = Varchar(length=255, null=True, default=None, unique=True)
    email = Varchar(length=320, null=True, default=None)
    name = Varchar(length=255, default="")
    role = Varchar(length=16, default="user")  # user | admin
    created_at = Timestamptz(default=now)


class ApiKey(Table, tablename="api_key"):
    id = Varchar(length=36, primary_key=True, default=new_id)
    user_id = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True, null=False)
    name = Varchar(length=255, null=True, default=None)
    # Hex sha256 of the key: the key is 256 random bits, so a plain hash cannot be reversed by guessing.
    key_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=now)
    last_used_at = Timestamptz(null=True, default=None)
