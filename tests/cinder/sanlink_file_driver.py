"""A Cinder volume driver for sanlink's tests: one sparse file per volume, exported
over iSCSI exactly as Cinder's LVM reference driver exports a logical volume.

Why a file: the kernel of the machines the tests run on has no device-mapper
(``lvcreate`` stops at "/dev/mapper/control: open failed: No such device ...
Required device-mapper target(s) not detected in your kernel"), so Cinder's own
``LVMVolumeDriver`` cannot create a single volume there. Everything the LVM driver
does besides making logical volumes needs no device-mapper: the volume manager,
the export through the ``tgtadm`` target helper (which writes a tgt target file with
a CHAP ``incominguser`` and runs ``tgt-admin --update``), the connection info it
hands out. So this driver is ``LVMVolumeDriver`` with the volume group swapped for a
directory of sparse files, and tgtd (user space, file-backed LUNs) serves them: the
``target_iqn``/``target_portal``/``target_lun`` and CHAP credentials a client gets
are the real thing, and an iSCSI initiator can log in with them and read the LUN.

Sizes are whole GiB, as everywhere in Cinder; a file is created with ``truncate``,
so a 1 GiB volume costs no disk until something is written into it. A test can
write a disk image straight into the file (``CinderService.backing_file(id)``).

What does not carry over from a real LVM + tgt deployment: tgt has no per-initiator
ACL (its targets are bound to ``ALL`` initiators; CHAP is the only gate), and
snapshots and clones are plain file copies.

In cinder.conf, in the backend's section::

    volume_driver = sanlink_file_driver.SparseFileDriver
    target_helper = tgtadm
    target_protocol = iscsi
    file_volume_dir = /some/dir          # the sparse files
    file_volume_capacity_gb = 100        # what the scheduler is told
    volume_clear = none

The module has to be importable by cinder-volume (``PYTHONPATH``).
"""

import os
import shutil
import subprocess

from oslo_config import cfg
from oslo_log import log as logging

from cinder import interface
from cinder.volume.drivers import lvm

LOG = logging.getLogger(__name__)

GiB = 1024 ** 3

file_opts = [
    cfg.StrOpt('file_volume_dir', default='$state_path/file-volumes',
               help='Directory that holds one sparse file per volume.'),
    cfg.IntOpt('file_volume_capacity_gb', default=100,
               help='Total capacity reported to the scheduler, in GiB.'),
]


def _gib(size):
    """LVM-style size ('1g', '1.00g', 2) -> bytes."""
    text = str(size).strip().lower()
    if text.endswith('g'):
        text = text[:-1]
    return int(float(text) * GiB)


class SparseFileStore(object):
    """Stands in for cinder.brick.local_dev.lvm.LVM, the volume group object that
    LVMVolumeDriver calls: the same methods, on files in one directory."""

    vg_thin_pool = None

    def __init__(self, vg_name, directory, capacity_gb):
        self.vg_name = vg_name
        self.directory = directory
        self.capacity_gb = capacity_gb
        os.makedirs(directory, exist_ok=True)
        self.update_volume_group_info()

    def path(self, name):
        if os.sep in name or name in ('', '.', '..'):
            raise ValueError('bad volume name %r' % name)
        return os.path.join(self.directory, name)

    def _volumes(self):
        found = []
        for name in sorted(os.listdir(self.directory)):
            path = os.path.join(self.directory, name)
            if os.path.isfile(path):
                gb = os.path.getsize(path) / GiB
                found.append({'name': name, 'vg': self.vg_name, 'size': '%.2f' % gb,
                              'size_gb': gb})
        return found

    # -- what LVMVolumeDriver reads -----------------------------------------

    def update_volume_group_info(self):
        used = sum(v['size_gb'] for v in self._volumes())
        self.vg_size = float(self.capacity_gb)
        self.vg_free_space = max(0.0, self.capacity_gb - used)
        self.vg_provisioned_capacity = used

    def get_volumes(self, lv_name=None):
        return [v for v in self._volumes() if lv_name is None or v['name'] == lv_name]

    def get_volume(self, name):
        found = self.get_volumes(name)
        return found[0] if found else None

    # -- what it changes ----------------------------------------------------

    def create_volume(self, name, size_str, lv_type='default', mirror_count=0):
        LOG.info('sparse file %s: creating, %s', self.path(name), size_str)
        with open(self.path(name), 'xb') as f:
            f.truncate(_gib(size_str))

    def extend_volume(self, lv_name, new_size):
        with open(self.path(lv_name), 'r+b') as f:
            f.truncate(_gib(new_size))

    def delete(self, name):
        LOG.info('sparse file %s: deleting', self.path(name))
        try:
            os.unlink(self.path(name))
        except FileNotFoundError:
            pass

    def rename_volume(self, lv_name, new_name):
        os.rename(self.path(lv_name), self.path(new_name))

    def create_lv_snapshot(self, name, source_lv_name, lv_type='default'):
        # A full copy that keeps the holes (cp, not shutil: shutil fills them).
        subprocess.run(['cp', '--sparse=always', self.path(source_lv_name),
                        self.path(name)], check=True)

    def revert(self, snapshot_name):
        raise NotImplementedError('revert to snapshot')

    # Nothing to activate, no snapshot origin to track, never "open" for LVM.
    def activate_lv(self, name, is_snapshot=False, permanent=False):
        pass

    def deactivate_lv(self, name):
        pass

    def lv_has_snapshot(self, name):
        return False

    def lv_is_snapshot(self, name):
        return False

    def lv_is_open(self, name):
        return False

    def lv_get_origin(self, name):
        return None


@interface.volumedriver
class SparseFileDriver(lvm.LVMVolumeDriver):
    """LVMVolumeDriver over SparseFileStore; the export is the configured target
    helper's (tgtadm) with the file as the backing store."""

    VERSION = '1.0.0'
    CI_WIKI_NAME = 'sanlink-tests'

    def __init__(self, *args, **kwargs):
        super(SparseFileDriver, self).__init__(*args, **kwargs)
        self.configuration.append_config_values(file_opts)
        self.backend_name = self.configuration.safe_get('volume_backend_name') or 'file'

    @classmethod
    def get_driver_options(cls):
        return super(SparseFileDriver, cls).get_driver_options() + file_opts

    def check_for_setup_error(self):
        # LVMVolumeDriver's runs vgs; here the "volume group" is a directory.
        self.vg = SparseFileStore(self.configuration.volume_group,
                                  self.configuration.file_volume_dir,
                                  self.configuration.file_volume_capacity_gb)
        if not shutil.which('tgt-admin'):
            LOG.warning('tgt-admin is not on PATH: exports will fail')

    def local_path(self, volume, vg=None):
        return self.vg.path(volume['name']) if self.vg else os.path.join(
            self.configuration.file_volume_dir, volume['name'])

    def _clear_volume(self, volume, is_snapshot=False):
        # The file is deleted right after this; nothing of it is handed out again.
        pass

    # LVMVolumeDriver builds /dev/<vg>/<name> for these two: give tgt the file.
    def ensure_export(self, context, volume):
        return self.target_driver.ensure_export(context, volume, self.local_path(volume))

    def create_export(self, context, volume, connector, vg=None):
        export = self.target_driver.create_export(context, volume, self.local_path(volume))
        return {'provider_location': export['location'],
                'provider_auth': export['auth']}
