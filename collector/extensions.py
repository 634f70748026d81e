"""Flask extensions, created here and bound to the app in create_app()."""

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from sync.models import Base

db = SQLAlchemy(metadata=Base.metadata)
migrate = Migrate()
