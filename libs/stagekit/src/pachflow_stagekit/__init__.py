"""What every stage CLI shares: exit codes, input discovery, all-or-nothing output"""
