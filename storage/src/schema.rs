// The same tables on both backends; column types are the ones both map alike.

diesel::table! {
    ledger (seq) {
        seq -> BigInt,
        entry_id -> Text,
        kind -> Text,
        actor -> Nullable<Text>,
        unit_code -> Nullable<Text>,
        captured_at -> BigInt,
        received_at -> BigInt,
        body -> Binary,
        leaf_hash -> Binary,
        verdicts -> Nullable<Text>,
    }
}

diesel::table! {
    ledger_payloads (seq) {
        seq -> BigInt,
        salt -> Binary,
        payload -> Binary,
    }
}

diesel::table! {
    units (code) {
        code -> Text,
        name -> Text,
        level -> Text,
        parent_code -> Nullable<Text>,
        path -> Text,
        boundary -> Nullable<Text>,
        tolerance_m -> Double,
        seq -> BigInt,
    }
}

diesel::table! {
    people (id) {
        id -> Text,
        username -> Text,
        password_hash -> Text,
        display_name -> Text,
        role -> Text,
        unit_code -> Nullable<Text>,
        unit_path -> Text,
        phone -> Nullable<Text>,
        seq -> BigInt,
    }
}

diesel::table! {
    assignments (id) {
        id -> Text,
        person_id -> Text,
        unit_code -> Text,
        role -> Text,
        valid_from -> Text,
        valid_to -> Nullable<Text>,
        seq -> BigInt,
    }
}

diesel::table! {
    households (id) {
        id -> Text,
        unit_code -> Text,
        head_name -> Text,
        members -> Integer,
        lon -> Double,
        lat -> Double,
        seq -> BigInt,
    }
}

diesel::table! {
    records (id) {
        id -> Text,
        person_id -> Text,
        kind -> Text,
        seq -> BigInt,
        captured_at -> BigInt,
        content_hash -> Binary,
        unit_code -> Nullable<Text>,
        actual_unit_code -> Nullable<Text>,
        geo -> Text,
        roster -> Text,
        response -> Text,
    }
}

diesel::joinable!(ledger_payloads -> ledger (seq));
diesel::allow_tables_to_appear_in_same_query!(
    ledger,
    ledger_payloads,
    units,
    people,
    assignments,
    households,
    records
);

diesel::table! {
    merkle_nodes (level, idx) {
        level -> Integer,
        idx -> BigInt,
        hash -> Binary,
    }
}

diesel::table! {
    checkpoints (size) {
        size -> BigInt,
        root -> Binary,
        note -> Text,
        created_at -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(ledger, merkle_nodes);
