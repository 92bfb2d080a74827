"""What handlers get injected: the process's services and who is calling."""

from litestar.datastructures import State

from reflector.bootstrap import Services

# Until accounts land (AUTH_BACKEND=none), one local user owns everything and every endpoint works.
LOCAL_USER_ID = "local"


def provide_services(state: State) -> Services:
    return state.services


def provide_user_id() -> str | None:
    return LOCAL_USER_ID
