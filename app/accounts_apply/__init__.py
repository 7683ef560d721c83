"""Account-opening applications (账号开通审核) for district, street and SOE group accounts."""
