/* index_dir.h — a throw-away LMDB directory for the key index unit tests */
#ifndef SL_TEST_INDEX_DIR_H
#define SL_TEST_INDEX_DIR_H

/* removes dir's data.mdb and lock.mdb, then dir */
void sl_test_remove_index_dir(const char *dir);

#endif
