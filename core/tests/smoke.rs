mod common;
use common::*;

#[test]
fn append_read_reopen_on_every_backend() {
    for backend in BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        let j = open(dir.path(), backend);
        let r = j.append("a", vec![ev("1"), ev("2").tag("t")]).unwrap();
        assert_eq!((r.first_sequence_nr, r.last_sequence_nr), (1, 2), "{backend:?}");
        j.append("b", vec![ev("x")]).unwrap();
        assert_eq!(payloads(&j.read("a", 1, u64::MAX, 10).unwrap()), ["1", "2"]);
        assert_eq!(j.events_by_tag("t", 0, 10).unwrap().len(), 1);
        assert_eq!(j.all_events(0, 10).unwrap().len(), 3);
        j.close().unwrap();
        if backend != tidemark::Backend::Memory {
            let j = open(dir.path(), backend);
            assert_eq!(j.highest_sequence_nr("a").unwrap(), 2, "{backend:?}");
            assert_eq!(payloads(&j.read("a", 1, u64::MAX, 10).unwrap()), ["1", "2"]);
            let r = j.append("a", vec![ev("3")]).unwrap();
            assert_eq!(r.first_sequence_nr, 3);
            assert_eq!(r.first_global_offset, 4);
        }
    }
}
