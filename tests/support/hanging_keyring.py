"""A keyring backend that never answers, like a Secret Service stuck behind a locked session.

Select it with ``PYTHON_KEYRING_BACKEND=hanging_keyring.HangingKeyring`` and this folder on PYTHONPATH.
"""

import time

from keyring.backend import KeyringBackend


class HangingKeyring(KeyringBackend):
    priority = 1

    def get_password(self, service, username):
        time.sleep(3600)

    def set_password(self, service, username, password):
        time.sleep(3600)

    def delete_password(self, service, username):
        time.sleep(3600)
