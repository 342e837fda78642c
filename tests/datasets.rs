//! The dataset readers on the real files.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use sepface::datasets::celeba::{Celeba, Partition};
use sepface::datasets::{cuhk, folders, lfw};

#[test]
fn celeba_subset_reads_identities_partitions_and_boxes() {
    let Some(data) = common::data_dir("celeba_subset_reads_identities_partitions_and_boxes") else { return };
    let dataset = Celeba::open(&data.join("celeba")).expect("CelebA subset");
    assert_eq!(dataset.images.len(), 6300);
    assert_eq!(dataset.missing, 0);
    let boxed = dataset.images.iter().filter(|image| image.face.is_some()).count();
    assert_eq!(boxed, 136);
    let train = dataset.images.iter().filter(|i| i.partition == Partition::Train).count();
    let test = dataset.images.iter().filter(|i| i.partition == Partition::Test).count();
    assert_eq!((train, test), (5048, 1252));
    let all = dataset.identities_with_more_than(0, None);
    assert_eq!(all.len(), 299);
    let verification = dataset.identities_with_more_than(5, None);
    assert!(verification.values().all(|images| images.len() > 5));
    assert!(verification.len() < all.len());
    assert!(dataset.images.iter().all(|image| image.path.is_file()));
}

#[test]
fn celeba_missing_folder_names_expected_layout() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let error = Celeba::open(folder.path()).expect_err("empty folder");
    assert!(error.to_string().contains("img_celeba"), "{error}");
}

#[test]
fn celeba_absent_images_are_counted() {
    let Some(data) = common::data_dir("celeba_absent_images_are_counted") else { return };
    let folder = tempfile::tempdir().expect("temporary folder");
    let source = data.join("celeba");
    std::fs::create_dir(folder.path().join("img_celeba")).expect("image folder");
    for file in ["identity_CelebA.txt", "list_eval_partition.txt", "list_bbox_celeba.txt"] {
        std::fs::copy(source.join(file), folder.path().join(file)).expect("copy annotation");
    }
    let kept = ["000093.jpg", "000114.jpg"];
    for name in kept {
        std::fs::copy(source.join("img_celeba").join(name), folder.path().join("img_celeba").join(name)).expect("copy image");
    }
    let subset = Celeba::open(folder.path()).expect("subset");
    assert_eq!(subset.images.len(), 2);
    assert_eq!(subset.missing, 6298);
}

#[test]
fn cuhk_lists_read_with_crlf_and_backslashes() {
    let Some(data) = common::data_dir("cuhk_lists_read_with_crlf_and_backslashes") else { return };
    let root = data.join("cuhk-facepoint");
    let train = cuhk::read_list(&root.join("trainImageList.txt")).expect("train list");
    let test = cuhk::read_list(&root.join("testImageList.txt")).expect("test list");
    assert_eq!((train.len(), test.len()), (5849, 2027));
    assert!(train.iter().take(50).all(|image| image.path.is_file()), "image paths resolve");
    let first = &train[0];
    assert!(first.face[0] < first.face[2] && first.face[1] < first.face[3]);
    let missing = cuhk::read_list(&root.join("no-such-list.txt")).expect_err("missing list");
    assert!(missing.to_string().contains("no-such-list.txt"), "{missing}");
}

#[test]
fn lfw_view_two_has_ten_folds_of_600() {
    let Some(data) = common::data_dir("lfw_view_two_has_ten_folds_of_600") else { return };
    let root = data.join("lfw");
    let images = lfw::image_root(&root);
    let pairs = lfw::read_pairs(&root.join("pairs.txt"), &images).expect("View 2");
    assert_eq!(pairs.len(), 6000);
    for fold in 0..10 {
        let in_fold: Vec<_> = pairs.iter().filter(|p| p.fold == Some(fold)).collect();
        assert_eq!(in_fold.len(), 600);
        assert_eq!(in_fold.iter().filter(|p| p.same).count(), 300);
    }
    assert!(pairs.iter().all(|pair| pair.first.is_file() && pair.second.is_file()));
}

#[test]
fn lfw_view_one_files_read() {
    let Some(data) = common::data_dir("lfw_view_one_files_read") else { return };
    let root = data.join("lfw");
    let images = lfw::image_root(&root);
    let train = lfw::read_pairs(&root.join("pairsDevTrain.txt"), &images).expect("View 1 train");
    let test = lfw::read_pairs(&root.join("pairsDevTest.txt"), &images).expect("View 1 test");
    assert_eq!((train.len(), test.len()), (2200, 1000));
    assert_eq!(train.iter().filter(|p| p.same).count(), 1100);
    assert!(train.iter().all(|p| p.fold.is_none()));
}

#[test]
fn identity_folders_read_lfw_people() {
    let Some(data) = common::data_dir("identity_folders_read_lfw_people") else { return };
    let images = lfw::image_root(&data.join("lfw"));
    let people = folders::read_identity_folders(&images).expect("LFW as folders");
    assert!(people.names.len() > 4000, "{} people", people.names.len());
    assert_eq!(people.images.len(), 9056);
    let empty = tempfile::tempdir().expect("temporary folder");
    assert!(folders::read_identity_folders(empty.path()).is_err());
}
