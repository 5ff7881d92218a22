/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The options passthructl.h declares, at their defaults until main() parses argv. */
#include "passthructl.h"

bool arg_legend = true;
bool arg_json = false;
bool arg_live = false;
bool arg_force = false;
char **arg_devices = NULL;
const char *arg_vm = NULL;
uint64_t arg_memory = 0;
int arg_open_node = -1;
