/*
 * A QEMU TCG plugin that counts the guest's instructions and writes the running count each
 * time the guest makes the marker syscall: getpid(2) with MARK_MAGIC as its (ignored) first
 * argument. One emulated process can then measure several regions (load, forwards at each
 * length) instead of one process per region.
 *
 * Built against the qemu-plugin.h of the installed QEMU (7.2: plugin API version 1).
 * The count is one counter for all guest threads: the benchmark runs the model on one thread
 * so that it is deterministic.
 */
#include <inttypes.h>
#include <stdio.h>

#include <glib.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define GETPID_AARCH64 172
#define MARK_MAGIC 0x6ED6u

static uint64_t insns;

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    /* inline: an add per executed block, no callback into the plugin */
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &insns,
                                             qemu_plugin_tb_n_insns(tb));
}

static void on_syscall(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, uint64_t a1,
                       uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6,
                       uint64_t a7, uint64_t a8)
{
    if (num == GETPID_AARCH64 && a1 == MARK_MAGIC) {
        char line[64];
        snprintf(line, sizeof line, "edgekit-insns %" PRIu64 "\n", insns);
        qemu_plugin_outs(line);
    }
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                           int argc, char **argv)
{
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_vcpu_syscall_cb(id, on_syscall);
    return 0;
}
