"""Flask extensions, created here and bound to the app in create_app()."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from sync.models import Base

db = SQLAlchemy(metadata=Base.metadata)
migrate = Migrate()
csrf = CSRFProtect()
# Storage comes from RATELIMIT_STORAGE_URI (memory:// by default: per process). Several gunicorn
# workers or hosts must share counters, so point it at Redis there (redis://host:6379/0).
limiter = Limiter(key_func=get_remote_address)
