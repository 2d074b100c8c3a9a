/**
 * Loop device encryption, refused by name with one wording: mount's `encryption=` (libmount's
 * option) and losetup's `-e`/`-E`/`--encryption` given to `loop attach`. It was the kernel's
 * cryptoloop (loop_info64's encrypt_type and key), removed from Linux in 5.19; dropping the
 * option instead would set up a device that does not encrypt. Pure.
 */

/** Why it is refused. */
export const LOOP_ENCRYPTION_UNSUPPORTED = "loop device encryption is not supported: cryptoloop was removed from Linux in 5.19";

/** What to use instead. */
export const LOOP_ENCRYPTION_HINT = "use dm-crypt instead: cryptsetup open IMAGE NAME, then mount /dev/mapper/NAME";
